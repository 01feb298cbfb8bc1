# R differential, 2x2 tables and binomial proportions (tests/stats/r_differential/
# test_accuracy_vs_r.py). One process for every dataset of the family:
#   Rscript --vanilla accuracy.R <folder> <results.csv>
# reads <folder>/tables.csv (dataset, tp, fp, fn, tn) and <folder>/binomial.csv (dataset, x,
# n, level); writes one line "dataset,field,value" per value ("dataset,error,message" when R
# stops). Calls: epiR::epi.tests(method = "exact", conf.level = 0.95) on
# matrix(c(tp, fp, fn, tn), 2, byrow = TRUE) (rows test +/-, columns disease +/-, epiR's
# layout); stats::binom.test(x, n, p = 0.5, conf.level = level).
suppressPackageStartupMessages(library(epiR))
source(file.path(dirname(sub("^--file=", "", grep("^--file=", commandArgs(), value = TRUE))), "common.R"))
tables <- read.csv(file.path(args[1], "tables.csv"))
for (i in seq_len(nrow(tables))) {
  d <- tables[i, ]
  tryCatch({
    r <- suppressWarnings(epi.tests(as.table(matrix(c(d$tp, d$fp, d$fn, d$tn), 2, byrow = TRUE)),
                                    method = "exact", conf.level = 0.95))
    det <- r$detail
    for (s in c("se", "sp", "diag.ac", "pv.pos", "pv.neg", "tp", "lr.pos", "lr.neg", "diag.or")) {
      row <- det[det$statistic == s, ]
      put(d$dataset, paste0(s, ".est"), row$est)
      put(d$dataset, paste0(s, ".lower"), row$lower)
      put(d$dataset, paste0(s, ".upper"), row$upper)
    }
  }, error = function(e) fail(d$dataset, "epi", e))
}
binomial <- read.csv(file.path(args[1], "binomial.csv"))
for (i in seq_len(nrow(binomial))) {
  d <- binomial[i, ]
  tryCatch({
    b <- binom.test(d$x, d$n, p = 0.5, conf.level = d$level)
    put(d$dataset, "estimate", b$estimate)
    put(d$dataset, "lower", b$conf.int[1])
    put(d$dataset, "upper", b$conf.int[2])
    put(d$dataset, "p.value", b$p.value)
  }, error = function(e) fail(d$dataset, "binom", e))
}
close(out)
