# Shared by the R differential scripts (sourced): the output file and its writers.
# Every script is run as  Rscript --vanilla <script>.R <folder> <results.csv>  and writes one
# line "dataset,field,value" per value, "dataset,<statistic>.error,message" when R stops.
args <- commandArgs(trailingOnly = TRUE)
out <- file(args[2], "w")
put <- function(id, name, value) cat(sprintf("%s,%s,%.17g\n", id, name, value), file = out, sep = "")
fail <- function(id, what, e) {
  cat(sprintf("%s,%s.error,%s\n", id, what, gsub("[,\n]", " ", conditionMessage(e))), file = out, sep = "")
}
guard <- function(id, what, expr) tryCatch(suppressWarnings(expr), error = function(e) fail(id, what, e))
