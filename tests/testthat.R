library(testthat)
library(ntkgen)

test_check("ntkgen")
