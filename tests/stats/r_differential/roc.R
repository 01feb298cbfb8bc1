# R differential, ROC (tests/stats/r_differential/test_roc_vs_r.py). One process for every
# dataset:  Rscript --vanilla roc.R <folder> <results.csv>
# reads <folder>/roc.csv (dataset, truth 0/1, score_1, score_2, direction_1, direction_2) and
# writes "dataset,field,value" lines ("dataset,<statistic>.error,message" when R stops).
# Direction is petdx's, never pROC's "auto": petdx "higher" (score >= threshold positive) is
# pROC direction "<" (controls < cases), "lower" is ">"; levels = c(0, 1) (controls, cases).
# Calls (pROC): roc, auc, var (DeLong), ci.auc(method = "delong"), auc(partial.auc = ...,
# partial.auc.correct = FALSE/TRUE), coords(x = "best", best.method = "youden"),
# roc.test(paired = TRUE, method = "delong").
# "exact." fields: the Youden cut-off by petdx's definition, computed here from pROC's own
# curve: Se + Sp - 1 compared exactly in integer counts (tp n0 - fp n1; pROC compares
# floating-point sums, so true ties can be split by rounding) and the point "nothing
# positive" (threshold +Inf, or -Inf for ">") not a candidate.
suppressPackageStartupMessages(library(pROC))
source(file.path(dirname(sub("^--file=", "", grep("^--file=", commandArgs(), value = TRUE))), "common.R"))
pdir <- function(d) if (d == "higher") "<" else ">"
all <- read.csv(file.path(args[1], "roc.csv"), stringsAsFactors = FALSE)
for (id in unique(all$dataset)) {
  d <- all[all$dataset == id, ]
  curves <- list()
  for (k in 1:2) {
    p <- paste0(k, ".")
    r <- guard(id, paste0(p, "roc"), roc(d$truth, d[[paste0("score_", k)]], levels = c(0, 1),
                                         direction = pdir(d[[paste0("direction_", k)]][1]), quiet = TRUE))
    if (is.null(r)) next
    curves[[k]] <- r
    put(id, paste0(p, "auc"), as.numeric(auc(r)))
    guard(id, paste0(p, "var"), put(id, paste0(p, "var"), var(r)))
    guard(id, paste0(p, "ci"), {
      ci <- ci.auc(r, method = "delong")
      put(id, paste0(p, "ci.lower"), ci[1]); put(id, paste0(p, "ci.upper"), ci[3])
    })
    for (corr in c(FALSE, TRUE)) {
      tag <- if (corr) "mcclish" else "raw"
      guard(id, paste0(p, "pauc"), {
        put(id, paste0(p, "pauc.sp.", tag), as.numeric(auc(r, partial.auc = c(1, 0.8),
            partial.auc.focus = "specificity", partial.auc.correct = corr)))
        put(id, paste0(p, "pauc.se.", tag), as.numeric(auc(r, partial.auc = c(1, 0.9),
            partial.auc.focus = "sensitivity", partial.auc.correct = corr)))
      })
    }
    guard(id, paste0(p, "best"), {
      b <- coords(r, x = "best", best.method = "youden",
                  ret = c("threshold", "specificity", "sensitivity"), transpose = FALSE)
      put(id, paste0(p, "best.n"), nrow(b))
      for (j in seq_len(nrow(b))) put(id, sprintf("%sbest.%d", p, j), b$threshold[j])
    })
    n1 <- length(r$cases); n0 <- length(r$controls)
    tp <- round(r$sensitivities * n1); fp <- round((1 - r$specificities) * n0)
    crit <- tp * n0 - fp * n1
    crit[tp == 0 & fp == 0] <- -Inf
    best <- which(crit == max(crit))
    put(id, paste0(p, "exact.n"), length(best))
    best <- best[order(r$specificities[best], decreasing = TRUE)]
    for (j in seq_along(best)) put(id, sprintf("%sexact.%d", p, j), r$thresholds[best[j]])
    put(id, paste0(p, "exact.se"), r$sensitivities[best[1]])
    put(id, paste0(p, "exact.sp"), r$specificities[best[1]])
  }
  if (length(curves) == 2 && !is.null(curves[[1]]) && !is.null(curves[[2]])) {
    guard(id, "test", {
      t <- roc.test(curves[[1]], curves[[2]], paired = TRUE, method = "delong")
      put(id, "test.z", t$statistic); put(id, "test.p", t$p.value)
      put(id, "test.ci.lower", t$conf.int[1]); put(id, "test.ci.upper", t$conf.int[2])
    })
  }
}
close(out)
