# R oracle for tests/stats/test_delong.py (test_delong_against_proc_run_now), run by the test
# on this machine's R: Rscript proc_delong.R paired.csv unpaired.csv. The test writes both
# files from its own data; R's and pROC's versions are in the pytest header.
suppressMessages(library(pROC))
args <- commandArgs(trailingOnly = TRUE)
p <- read.csv(args[1])
u <- read.csv(args[2])
curve <- function(truth, score) roc(truth, score, levels = c(0, 1), direction = "<", quiet = TRUE)
r1 <- curve(p$truth, p$s1)
r2 <- curve(p$truth, p$s2)
cat(sprintf("auc1 %.15g %.15g\n", as.numeric(auc(r1)), var(r1, method = "delong")))
t <- roc.test(r1, r2, method = "delong", paired = TRUE)
cat(sprintf("paired %.15g %.15g\n", t$statistic, t$p.value))
a <- u[u$curve == 1, ]
b <- u[u$curve == 2, ]
t <- roc.test(curve(a$truth, a$score), curve(b$truth, b$score), method = "delong", paired = FALSE)
cat(sprintf("unpaired %.15g %.15g %.15g\n", t$statistic, t$parameter, t$p.value))
