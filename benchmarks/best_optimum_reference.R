# R side of benchmarks/bench_best_optimum.py: the R data sets and R's many-start reference fits.
#
#   Rscript best_optimum_reference.R export OUTDIR
#       writes OUTDIR/<set>.csv for every data set that comes from an R package (flexmix,
#       mixtools, MASS, carData), numeric columns only (factors as 0/1 dummies), 17 significant digits,
#       so Python and R fit the very same numbers.
#   Rscript best_optimum_reference.R fit SET METHOD NREP SEED OUTFILE [BUDGET]
#       NREP independent fits of METHOD (each from R's own random start, seeds SEED + r),
#       the best one's log-likelihood and parameters written as JSON to OUTFILE, with the
#       log-likelihood of every start (so the share of starts that reach the best is known).
#       No new start begins after BUDGET seconds (the starts run are recorded).
#
# Methods: "flexmix" (flexmix(), one random start per call: the loop is stepFlexmix's nrep
# without its bookkeeping), "regmixEM" (mixtools, random regression lines through sampled
# points), "hmeEM" (mixtools, a 2-expert mixture with a logistic gate on one covariate).
# flexmix runs with minprior=0 (no component is dropped, so every kept fit has K components),
# iter.max=1000 and tolerance=1e-8 (relative change of the log-likelihood); regmixEM with
# epsilon=1e-10 (absolute), maxit=10000; hmeEM with its default epsilon=1e-8 and maxit=1000.
# The best fit is then polished by L-BFGS in Python, so these limits only decide how long
# each start runs.

suppressMessages({
  library(flexmix)
  library(mixtools)
  library(MASS)
  library(carData)
  library(jsonlite)
})

dummy <- function(f, level) as.numeric(f == level)

# Every set: a data frame whose first column is the response (y, or the successes for a
# binomial) and the formulae of the R fits, on those column names.
make_sets <- function() {
  s <- list()
  data(patent, package = "flexmix")
  s$patent <- list(
    d = data.frame(y = patent$Patents, lgRD = patent$lgRD, RDS = patent$RDS),
    family = "poisson", K = 3, expert = y ~ lgRD, gate = ~RDS
  )
  data(tonedata, package = "mixtools")
  s$tonedata <- list(
    d = data.frame(y = tonedata$tuned, stretchratio = tonedata$stretchratio),
    family = "gaussian", K = 2, expert = y ~ stretchratio, gate = NULL
  )
  data(NOdata, package = "mixtools")
  s$NOdata <- list(
    d = data.frame(y = NOdata$NO, Equivalence = NOdata$Equivalence),
    family = "gaussian", K = 2, expert = y ~ Equivalence, gate = NULL
  )
  s$NOdata_softmax <- s$NOdata
  s$NOdata_softmax$gate <- ~Equivalence
  data(NPreg, package = "flexmix")
  s$NPreg <- list(
    d = data.frame(y = NPreg$yn, x = NPreg$x, x2 = NPreg$x^2),
    family = "gaussian", K = 2, expert = y ~ x + x2, gate = NULL
  )
  data(fabricfault, package = "flexmix")
  s$fabricfault <- list(
    d = data.frame(y = fabricfault$Faults, logLength = log(fabricfault$Length)),
    family = "poisson", K = 2, expert = y ~ logLength, gate = NULL
  )
  data(bioChemists, package = "flexmix")
  b <- bioChemists
  s$bioChemists <- list(
    d = data.frame(
      y = b$art, fem = dummy(b$fem, "Women"), mar = dummy(b$mar, "Married"),
      kid5 = b$kid5, phd = b$phd, ment = b$ment
    ),
    family = "poisson", K = 2, expert = y ~ fem + mar + kid5 + phd + ment, gate = NULL
  )
  data(BregFix, package = "flexmix")
  s$BregFix <- list(
    d = data.frame(y = BregFix$yes, x = BregFix$x, w = as.numeric(as.character(BregFix$w))),
    family = "binomial", n_trials = 20, K = 3, expert = cbind(y, 20 - y) ~ x + w, gate = NULL
  )
  s$mcycle <- list(
    d = data.frame(y = MASS::mcycle$accel, times = MASS::mcycle$times),
    family = "gaussian", K = 3, expert = y ~ times, gate = ~times
  )
  data(Cowles, package = "carData")
  s$cowles <- list(
    d = data.frame(y = dummy(Cowles$volunteer, "yes"), neuroticism = Cowles$neuroticism,
                   extraversion = Cowles$extraversion, sex = dummy(Cowles$sex, "male")),
    family = "binomial", n_trials = 1, K = 2,
    expert = cbind(y, 1 - y) ~ neuroticism + extraversion + sex,
    gate = ~ neuroticism + extraversion
  )
  s
}

export <- function(outdir) {
  sets <- make_sets()
  for (nm in names(sets)) {
    write.csv(format(sets[[nm]]$d, digits = 17), file.path(outdir, paste0(nm, ".csv")),
              row.names = FALSE, quote = FALSE)
  }
}

fit_one <- function(set, method) {
  d <- set$d
  K <- set$K
  if (method == "flexmix") {
    conc <- if (is.null(set$gate)) FLXPconstant() else FLXPmultinom(set$gate)
    fit <- flexmix(set$expert, data = d, k = K, model = FLXMRglm(family = set$family),
                   concomitant = conc,
                   control = list(minprior = 0, iter.max = 1000, tolerance = 1e-8))
    if (fit@k != K) return(NULL)
    P <- parameters(fit)
    if (set$family == "gaussian") {
      beta <- P[-nrow(P), , drop = FALSE]
      sigma <- P[nrow(P), ]
    } else {
      beta <- P
      sigma <- NULL
    }
    gate <- if (is.null(set$gate)) matrix(log(prior(fit)), nrow = 1) else
      parameters(fit, which = "concomitant")
    return(list(ll = as.numeric(logLik(fit)), beta = unname(as.matrix(beta)),
                sigma = unname(sigma), gate = unname(as.matrix(gate)), iter = fit@iter,
                converged = fit@converged))
  }
  X <- as.matrix(d[, -1, drop = FALSE])
  if (method == "regmixEM") {
    fit <- regmixEM(d$y, X, k = K, epsilon = 1e-10, maxit = 10000)
    gate <- matrix(log(fit$lambda), nrow = 1)
  } else if (method == "hmeEM") {
    # hmeEM often needs its 10000 iterations here (a sharp gate): 1000 keeps 200 starts
    # affordable; the best start is polished by L-BFGS anyway.
    fit <- hmeEM(d$y, X, k = 2, epsilon = 1e-8, maxit = 1000)
    # P(expert 1 | x) = inv.logit(w[1] + w[2] x): expert 2 is the reference (logit 0).
    gate <- rbind(c(fit$w[1], 0), c(fit$w[2], 0))
  } else {
    stop("unknown method ", method)
  }
  list(ll = fit$loglik, beta = unname(as.matrix(fit$beta)), sigma = unname(fit$sigma),
       gate = unname(gate), iter = length(fit$all.loglik) - 1,
       converged = length(fit$all.loglik) - 1 < if (method == "hmeEM") 1000 else 10000)
}

run_fit <- function(setname, method, nrep, seed, outfile, budget = Inf) {
  set <- make_sets()[[setname]]
  if (is.null(set)) stop("unknown set ", setname)
  lls <- rep(NA_real_, nrep)
  best <- NULL
  nrun <- 0
  t0 <- proc.time()[["elapsed"]]
  for (r in seq_len(nrep)) {
    if (proc.time()[["elapsed"]] - t0 > budget) break  # time budget spent: keep what we have
    nrun <- r
    set.seed(seed + r)
    out <- NULL
    tryCatch(invisible(capture.output(suppressWarnings(out <- fit_one(set, method)))),
             error = function(e) NULL)
    if (is.null(out) || !is.finite(out$ll)) next
    lls[r] <- out$ll
    if (is.null(best) || out$ll > best$ll) best <- out
  }
  elapsed <- proc.time()[["elapsed"]] - t0
  write_json(list(set = setname, method = method, nrep = nrep, seed = seed,
                  starts_run = nrun,
                  elapsed = elapsed, lls = lls, best = best,
                  versions = paste(R.version.string, "| flexmix", format(packageVersion("flexmix")),
                                   "| mixtools", format(packageVersion("mixtools")),
                                   "| flexmix control: minprior=0, iter.max=1000, tolerance=1e-8",
                                   "| mixtools: epsilon=1e-10, maxit=10000 (hmeEM: 1e-8, 1000)")),
             outfile, digits = NA, auto_unbox = TRUE, null = "null", na = "null")
}

args <- commandArgs(trailingOnly = TRUE)
if (length(args) >= 2 && args[1] == "export") {
  export(args[2])
} else if (length(args) >= 6 && args[1] == "fit") {
  budget <- if (length(args) >= 7) as.numeric(args[7]) else Inf
  run_fit(args[2], args[3], as.integer(args[4]), as.integer(args[5]), args[6], budget)
} else {
  stop("usage: best_optimum_reference.R export OUTDIR | fit SET METHOD NREP SEED OUTFILE")
}
