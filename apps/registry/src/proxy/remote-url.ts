import { InvalidArgumentError } from '@berth/errors';

/** Checks `--proxy-remote-url`: http(s), a host, no path, query or credentials. */
export function parseRemoteUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new InvalidArgumentError(`Invalid --proxy-remote-url "${text}": expected http(s)://host[:port]`);
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.username !== '' || url.search !== '' || url.pathname.replace(/\/+$/, '') !== '') {
    throw new InvalidArgumentError(`Invalid --proxy-remote-url "${text}": expected http(s)://host[:port] without path or credentials`);
  }
  return url;
}
