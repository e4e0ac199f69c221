# escape=\
# escape=`
FROM alpine
