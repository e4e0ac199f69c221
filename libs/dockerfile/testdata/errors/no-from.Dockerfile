# nothing before
RUN echo hi
