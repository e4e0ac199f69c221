FROM alpine
ENV A=1 B="two words" C='single $quoted' D=escaped\ space E=
ENV F $A-$B
LABEL "com.example.vendor"="ACME Incorporated" com.example.label-with-value="foo"
LABEL multi.label1="value1" \
      multi.label2="value2" \
      other="value3"
LABEL description="This text illustrates \
that label-values can span multiple lines."
ARG EMPTY= QUOTED="a b" BARE
ENV key=value=with=equals
