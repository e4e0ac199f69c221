FROM scratch
CMD ["/bin/app", "--flag"]
CMD /bin/app --flag "quoted arg"
CMD ["not", "valid json"
ENTRYPOINT ['single', 'quotes']
ENTRYPOINT []
RUN [ "spaced" , "array" ]
RUN ["escaped \"quote\"", "tab\there"]
SHELL ["powershell", "-command"]
HEALTHCHECK NONE
HEALTHCHECK CMD ["curl", "-f", "http://localhost"]
healthcheck --retries=1 cmd exit 0
