# R oracle for tests/stats/test_survival.py (test_cox_and_logrank_against_r_run_now), run by
# the test on this machine's R: Rscript cox_logrank.R cox.csv logrank.csv. The test writes
# both files from its own data; R's and survival's versions are in the pytest header.
suppressMessages(library(survival))
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1])
f <- coxph(Surv(time, status) ~ x1 + x2, d)  # ties = "efron", default control
se <- sqrt(diag(vcov(f)))
cat(sprintf("coef %.15g %.15g\n", coef(f)[1], coef(f)[2]))
cat(sprintf("se %.15g %.15g\n", se[1], se[2]))
cat(sprintf("loglik %.15g\n", f$loglik[2]))
l <- read.csv(args[2], colClasses = c("numeric", "numeric", "character"))
s <- survdiff(Surv(t, e) ~ g, l)
cat(sprintf("chisq %.15g df %d\n", s$chisq, sum(s$exp > 0) - 1L))
