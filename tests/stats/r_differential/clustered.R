# R differential, clustered AUC (tests/stats/r_differential/test_clustered_vs_r.py). No R
# package here implements it, so this is a short transcription of the published formulas:
#   Obuchowski NA. Nonparametric analysis of clustered ROC curve data. Biometrics
#   1997;53:567-578. doi:10.2307/2533958 (section 2: the estimator, eq. for var(A) with
#   the structural components V10, V01 summed per cluster, S10, S01, S11).
# Written from the paper, pairwise (psi kernel over every diseased-non-diseased pair), with
# none of petdx's code. Run:  Rscript --vanilla clustered.R <folder> <results.csv>
# reads <folder>/clustered.csv (dataset, truth, score_1, score_2, cluster, direction) and
# writes "dataset,field,value" lines: auc.k, var.k (k = 1, 2 scores), cov, z (paired test).
source(file.path(dirname(sub("^--file=", "", grep("^--file=", commandArgs(), value = TRUE))), "common.R"))
psi <- function(x, y) (x > y) + 0.5 * (x == y)
components <- function(truth, score, cluster) {
  x <- score[truth == 1]; y <- score[truth == 0]
  M <- length(x); N <- length(y)
  k <- outer(x, y, psi)               # M x N kernel
  A <- sum(k) / (M * N)
  v10 <- rowSums(k) / N               # V10(X_ij): fraction of all non-diseased units beaten
  v01 <- colSums(k) / M               # V01(Y_ij)
  ids <- sort(unique(cluster))
  m <- sapply(ids, function(i) sum(cluster[truth == 1] == i))
  n <- sapply(ids, function(i) sum(cluster[truth == 0] == i))
  V10 <- sapply(ids, function(i) sum(v10[cluster[truth == 1] == i]))
  V01 <- sapply(ids, function(i) sum(v01[cluster[truth == 0] == i]))
  list(A = A, M = M, N = N, m = m, n = n, V10 = V10, V01 = V01,
       I10 = sum(m > 0), I01 = sum(n > 0), I = length(ids))
}
# var(A) = S10/M + S01/N + 2 S11/(M N); for two scores the covariance uses the cross
# products (S11 enters as S11_12 + S11_21, the paper's section 3 for correlated curves)
covariance <- function(a, b) {
  S10 <- a$I10 / ((a$I10 - 1) * a$M) * sum((a$V10 - a$m * a$A) * (b$V10 - b$m * b$A))
  S01 <- a$I01 / ((a$I01 - 1) * a$N) * sum((a$V01 - a$n * a$A) * (b$V01 - b$n * b$A))
  S11ab <- a$I / (a$I - 1) * sum((a$V10 - a$m * a$A) * (b$V01 - b$n * b$A))
  S11ba <- a$I / (a$I - 1) * sum((b$V10 - b$m * b$A) * (a$V01 - a$n * a$A))
  S10 / a$M + S01 / a$N + (S11ab + S11ba) / (a$M * a$N)
}
all <- read.csv(file.path(args[1], "clustered.csv"), stringsAsFactors = FALSE)
for (id in unique(all$dataset)) {
  d <- all[all$dataset == id, ]
  sign <- if (d$direction[1] == "higher") 1 else -1   # petdx's direction: "lower" negated
  c1 <- components(d$truth, sign * d$score_1, d$cluster)
  c2 <- components(d$truth, sign * d$score_2, d$cluster)
  put(id, "auc.1", c1$A); put(id, "auc.2", c2$A)
  if (c1$I10 < 2 || c1$I01 < 2) { put(id, "var.1", NA); next }
  v1 <- covariance(c1, c1); v2 <- covariance(c2, c2); v12 <- covariance(c1, c2)
  put(id, "var.1", v1); put(id, "var.2", v2); put(id, "cov", v12)
  diff <- c1$A - c2$A; vd <- v1 + v2 - 2 * v12
  # petdx's (and pROC's delong.paired.test) convention: no difference with no variance is
  # z = 0 (p = 1), not 0/0
  if (diff == 0 && vd <= 0) { put(id, "z", 0); put(id, "zero.over.zero", 1); next }
  put(id, "z", diff / sqrt(vd))
}
close(out)
