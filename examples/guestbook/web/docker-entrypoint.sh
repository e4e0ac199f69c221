#!/bin/sh
# nginx needs its resolver's address in the configuration: take the container's nameserver.
set -e
resolver=$(awk '/^nameserver/ { print $2; exit }' /etc/resolv.conf)
sed -i "s/RESOLVER/${resolver:-127.0.0.11}/" /etc/nginx/sites-enabled/default
exec "$@"
