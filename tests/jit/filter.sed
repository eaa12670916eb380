# What changes from run to run in nnc's output: rates and times.
s/  [0-9][0-9]* samples\/s/  N samples\/s/g
s/ in [0-9][0-9]*\.[0-9]* ms/ in N ms/g
