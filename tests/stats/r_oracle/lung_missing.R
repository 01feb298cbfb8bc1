# R oracle for tests/stats/test_missing.py (issue 19, missing data): run by the test on this
# machine's R: Rscript lung_missing.R lung.csv. It writes survival::lung as R's write.csv
# writes it (NA for a missing cell) and prints, per ECOG group, survfit's n, events, median
# and its log CI (survfit's default conf.type), then the data rows R deletes for missingness
# (1-based). R's and survival's versions are in the pytest header.
suppressMessages(library(survival))
args <- commandArgs(trailingOnly = TRUE)
write.csv(lung, args[1], row.names = FALSE)
fit <- survfit(Surv(time, status) ~ ph.ecog, data = lung)
tab <- summary(fit)$table
for (i in seq_len(nrow(tab))) {
  cat(sprintf("group %s %d %d %.15g %.15g %.15g\n", sub("ph.ecog=", "", rownames(tab)[i]),
              as.integer(tab[i, "n.start"]), as.integer(tab[i, "events"]), tab[i, "median"],
              tab[i, "0.95LCL"], tab[i, "0.95UCL"]))
}
cat(sprintf("deleted %s\n", paste(as.integer(fit$na.action), collapse = " ")))
