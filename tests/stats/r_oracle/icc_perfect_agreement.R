# R 4.2.2: psych::ICC's ANOVA and formulas (psych 2.x, transcribed: psych is not a Debian
# package here) on perfect-agreement data. Run: Rscript icc_perfect_agreement.R. Its printed
# output is quoted in tests/stats/test_agreement.py (test_icc_perfect_agreement_*).
icc_psych <- function(x) {  # psych::ICC's ANOVA and formulas (psych 2.x), transcribed
  n.obs <- nrow(x); nj <- ncol(x)
  x.s <- stack(data.frame(x)); x.df <- data.frame(x.s, subs = rep(paste("S", 1:n.obs, sep = ""), nj))
  s.aov <- summary(aov(values ~ subs + ind, data = x.df))
  stats <- matrix(unlist(s.aov), ncol = 3, byrow = TRUE)
  MSB <- stats[3, 1]; MSW <- (stats[2, 2] + stats[2, 3])/(stats[1, 2] + stats[1, 3])
  MSJ <- stats[3, 2]; MSE <- stats[3, 3]
  cat(sprintf("MSB %.17g MSJ %.17g MSE %.17g MSW %.17g\n", MSB, MSJ, MSE, MSW))
  ICC3 <- (MSB - MSE)/(MSB + (nj - 1) * MSE); F21 <- MSB/MSE
  cat(sprintf("ICC3 %.17g F %.17g p %.17g\n", ICC3, F21, -expm1(pf(F21, n.obs-1, (n.obs-1)*(nj-1), log.p = TRUE))))
}
icc_psych(cbind(c(1,2,4), c(1,2,4)))
icc_psych(cbind(c(0.1,0.2,0.7), c(0.1,0.2,0.7), c(0.1,0.2,0.7)))
icc_psych(cbind(c(1,2,4), c(2,3,5)))
icc_psych(cbind(c(3,3,3), c(3,3,3)))
