# R on the degenerate inputs of tests/stats/test_degenerate.py (issue 19 Build 3). One line per
# case: "key values... [WARNING: ...]" or "key ERROR: <R's message>". Run: Rscript degenerate.R
suppressMessages({library(pROC); library(survival)})
say <- function(key, expr) {
  warned <- character(0)
  value <- withCallingHandlers(
    tryCatch(expr, error = function(e) paste("ERROR:", conditionMessage(e))),
    warning = function(w) { warned <<- c(warned, conditionMessage(w)); invokeRestart("muffleWarning") })
  text <- if (is.character(value)) value else paste(format(value, digits = 17), collapse = " ")
  if (length(warned)) text <- paste(text, paste("WARNING:", warned, collapse = " "))
  cat(key, " ", text, "\n", sep = "")
}
ci <- function(truth, score) as.numeric(ci.auc(roc(truth, score, direction = "<", quiet = TRUE), method = "delong"))[c(2, 1, 3)]
say("auc_perfect", ci(c(0, 0, 0, 1, 1, 1), 1:6))
say("auc_constant", ci(c(0, 1, 0, 1, 1, 0), rep(2, 6)))
say("roc_one_class", roc(c(1, 1, 1, 1), 1:4, quiet = TRUE))
say("survdiff_one_group", survdiff(Surv(1:4, c(1, 0, 1, 1)) ~ rep("a", 4))$chisq)
say("cox_separation", coef(coxph(Surv(1:6, c(1, 1, 1, 0, 0, 0)) ~ x, data = data.frame(x = c(1, 1, 1, 0, 0, 0)))))
say("cox_noevents", coef(summary(coxph(Surv(1:5, rep(0, 5)) ~ x, data = data.frame(x = 1:5))))[1, "coef"])
# Cohen's kappa as irr::kappa2 computes it (unweighted): (po - pe) / (1 - pe), transcribed
kappa2 <- function(r1, r2) {
  lev <- sort(unique(c(r1, r2))); t <- table(factor(r1, lev), factor(r2, lev)) / length(r1)
  po <- sum(diag(t)); pe <- sum(rowSums(t) * colSums(t)); (po - pe) / (1 - pe)
}
say("kappa_one_category", kappa2(rep("a", 5), rep("a", 5)))
# Fleiss' kappa as irr::kappam.fleiss computes it (Fleiss 1971), transcribed
fleiss <- function(m) {
  lev <- sort(unique(as.vector(m))); n <- nrow(m); k <- ncol(m)
  cnt <- t(apply(m, 1, function(r) table(factor(r, lev))))
  if (length(lev) == 1) cnt <- matrix(cnt, ncol = 1)
  pj <- colSums(cnt) / (n * k); Pi <- (rowSums(cnt^2) - k) / (k * (k - 1))
  (mean(Pi) - sum(pj^2)) / (1 - sum(pj^2))
}
say("fleiss_one_category", fleiss(matrix("a", 4, 3)))
cox_x <- c(0.5, 2.0, 1.0, 3.0, 0.2, 2.5, 1.5, 0.7)
say("cox_collinear", coef(coxph(Surv(1:8, c(1, 0, 1, 1, 0, 1, 1, 0)) ~ x + y, data = data.frame(x = cox_x, y = 2 * cox_x))))
say("spearman_constant", { r <- cor.test(c(1, 1, 1, 1), 1:4, method = "spearman"); c(r$estimate, r$p.value) })
