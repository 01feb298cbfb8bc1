# R differential, survival (tests/stats/r_differential/test_survival_vs_r.py). One process for
# every dataset:  Rscript --vanilla survival.R <folder> <results.csv>
# reads <folder>/survival.csv (dataset, kind, time, status, group, stratum, x1, x2) and writes
# "dataset,field,value" lines ("dataset,<statistic>.error,message" when R stops).
# Calls (survival): quantile(survfit(Surv(time, status) ~ 1), 0.5) (conf.type "log", R's
# default); survdiff(Surv(time, status) ~ group [+ strata(stratum)]); coxph(Surv(time,
# status) ~ x1 + x2, ties = "efron"); "cox.warned" is 1 when coxph warned (an infinite
# coefficient, no convergence).
# "zph." fields: the proportional-hazards test by petdx's definition, which is not cox.zph's
# in survival 3.x (an exact score test): Grambsch & Therneau (1994) approximate test as
# survival 2.x cox.zph computed it (z = (g' r2)^2 / (diag(var) d sum(g^2)), r2 = Schoenfeld
# residuals %*% var * d, g the centred time transform), with the transform 1 - KM(t) taken
# right-continuous (the KM estimate at each event time, lifelines' "km"; 2.x took it
# left-continuous). Reference: Grambsch PM, Therneau TM. Biometrika 1994;81:515-526.
# "zph3." fields: R's own cox.zph(fit, transform = "km") (3.x), reported, not compared.
suppressPackageStartupMessages(library(survival))
source(file.path(dirname(sub("^--file=", "", grep("^--file=", commandArgs(), value = TRUE))), "common.R"))
zph_right_km <- function(fit) {
  sres <- as.matrix(resid(fit, type = "schoenfeld"))
  times <- sort(fit$y[fit$y[, 2] == 1, 1])  # the rows' order (rownames are rounded)
  d <- nrow(sres)
  km <- survfit(Surv(fit$y[, 1], fit$y[, 2]) ~ 1)
  g <- 1 - km$surv[findInterval(times, km$time)]
  g <- g - mean(g)
  r2 <- sres %*% fit$var * d
  c((g %*% r2)^2 / (diag(fit$var) * d * sum(g^2)))
}
# The time a pointwise band first reaches 0.5: quantile.survfit's findq on the band made
# monotone. findq itself hands approx() the band's values as abscissae, which approx() sorts;
# the upper band S exp(z se) can rise again (se grows faster than S falls), and then findq
# returns a later time at which the band is nearest above 0.5 instead of the first crossing.
first_cross <- function(time, band) {
  y <- 1 - band
  ok <- !is.na(y)
  y[ok] <- cummax(y[ok])
  survival:::findq(c(0, time), c(0, y), 0.5, sqrt(.Machine$double.eps))
}
all <- read.csv(file.path(args[1], "survival.csv"), stringsAsFactors = FALSE)
for (id in unique(all$dataset)) {
  d <- all[all$dataset == id, ]
  guard(id, "km", {
    q <- quantile(survfit(Surv(time, status) ~ 1, data = d), probs = 0.5, conf.int = TRUE)
    put(id, "median", q$quantile); put(id, "median.lower", q$lower); put(id, "median.upper", q$upper)
  })
  guard(id, "km", {  # petdx's definition of the upper limit: the first time the band reaches 0.5
    f <- survfit(Surv(time, status) ~ 1, data = d)
    put(id, "median.upper.first", first_cross(f$time, f$upper))
  })
  guard(id, "logrank", {
    s <- if (d$kind[1] == "stratified") survdiff(Surv(time, status) ~ group + strata(stratum), d)
         else survdiff(Surv(time, status) ~ group, d)
    df <- sum(rowSums(as.matrix(s$exp)) > 0) - 1  # groups with an expected event (matrix when stratified)
    put(id, "logrank.chisq", s$chisq); put(id, "logrank.df", df)
    put(id, "logrank.p", pchisq(s$chisq, df, lower.tail = FALSE))
  })
  warned <- FALSE
  fit <- tryCatch(withCallingHandlers(coxph(Surv(time, status) ~ x1 + x2, d, ties = "efron"),
                                      warning = function(w) { warned <<- TRUE; invokeRestart("muffleWarning") }),
                  error = function(e) { fail(id, "cox", e); NULL })
  if (!is.null(fit)) {
    put(id, "cox.warned", as.numeric(warned))
    se <- sqrt(diag(fit$var))
    for (k in 1:2) {
      put(id, sprintf("cox.coef.%d", k), coef(fit)[k]); put(id, sprintf("cox.se.%d", k), se[k])
    }
    put(id, "cox.loglik", fit$loglik[2])
    put(id, "cox.concordance", fit$concordance[["concordance"]])
    guard(id, "zph", { z <- zph_right_km(fit); put(id, "zph.1", z[1]); put(id, "zph.2", z[2]) })
    guard(id, "zph3", { z <- cox.zph(fit, transform = "km", terms = FALSE)$table
      put(id, "zph3.1", z[1, "chisq"]); put(id, "zph3.2", z[2, "chisq"]) })
  }
}
close(out)
