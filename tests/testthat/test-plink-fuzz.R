# A bounded run of the PLINK reader's fuzzer (inst/scripts/fuzz_plink.R runs thousands).

test_that("random corruptions of a fileset are read or refused, never crash", {
  script <- system.file("scripts", "fuzz_plink.R", package = "ntkgen")
  if (!nzchar(script)) script <- test_path("..", "..", "inst", "scripts", "fuzz_plink.R")
  skip_if_not(file.exists(script), "fuzz_plink.R not found")
  env <- new.env()
  sys.source(script, envir = env)
  res <- env$plink_fuzz(200L, seed = 42L)
  expect_identical(sum(res), 200L)
  expect_gt(res[["error"]], 50L)   # most corruptions are caught
  expect_gt(res[["ok"]], 5L)       # flipped genotype bytes are still valid files
})
