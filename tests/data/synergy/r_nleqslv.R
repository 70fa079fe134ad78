# Reference values for letrolab.synergy._sf2.nleqslv_newton (letrolab project, written for its
# tests): R's nleqslv (3.3.4, method = "Newton", default "dbldog" global strategy and control)
# on (1) SynergyFinder 1-2's Loewe equation eq.LL4.LL4 for random curve pairs and doses, and
# (2) a few scalar test equations. Run: Rscript r_nleqslv.R (writes the two CSV files beside it).
library(nleqslv)
num <- function(v) sprintf("%.17g", v)
eq <- function(x, x1, x2, cp, rp) {
  x1 / (cp[4] * (((x - cp[3]) / (cp[2] - x)) ^ (1 / cp[1]))) +
    x2 / (rp[4] * (((x - rp[3]) / (rp[2] - x)) ^ (1 / rp[1]))) - 1
}
set.seed(20261125)
n <- 240
rows <- character(n)
for (k in seq_len(n)) {
  kind <- k %% 4
  bc <- -runif(1, 0.3, 4); br <- -runif(1, 0.3, 4)
  ec <- 10^runif(1, -1, 4); er <- 10^runif(1, -1, 4)
  cc <- 0; dc <- 100; cr <- 0; dr <- 100
  if (kind == 1) { dc <- runif(1, 20, 90); cr <- runif(1, -10, 10) }  # partner maximum below 100
  if (kind == 2) { bc <- -bc }                                       # one curve falling
  if (kind == 3) { bc <- -runif(1, 5, 60) }                          # steep, step-like curve
  x1 <- 10^runif(1, -2, 4); x2 <- 10^runif(1, -2, 4)
  cp <- c(bc, cc, dc, ec); rp <- c(br, cr, dr, er)
  s <- tryCatch(nleqslv(max(cp[2], rp[2]) + 1, eq, method = "Newton", x1 = x1, x2 = x2, cp = cp, rp = rp),
                error = function(e) list(x = NA, termcd = 999, iter = NA, nfcnt = NA, njcnt = NA))
  rows[k] <- paste(c(num(c(x1, x2, cp, rp, s$x)), s$termcd, s$iter, s$nfcnt, s$njcnt), collapse = ",")
}
writeLines(c("x_col,x_row,b_col,c_col,d_col,e_col,b_row,c_row,d_row,e_row,x,termcd,iter,nfcnt,njcnt", rows),
           "r_nleqslv_loewe.csv")
fns <- list(cubic = function(x) x^3 - 2 * x - 5, ratio = function(x) x / (1 + x^2),
            noroot = function(x) x^2 + 1, recip = function(x) 1 / x - 3)
starts <- list(cubic = c(2, -3, 100), ratio = c(0.5, 2, -7), noroot = c(1, -0.5), recip = c(1, 0.01, 5))
out <- c("fn,x0,x,fvec,termcd,iter,nfcnt,njcnt")
for (nm in names(fns)) for (x0 in starts[[nm]]) {
  s <- nleqslv(x0, fns[[nm]], method = "Newton")
  out <- c(out, paste(nm, num(x0), num(s$x), num(s$fvec), s$termcd, s$iter, s$nfcnt, s$njcnt, sep = ","))
}
writeLines(out, "r_nleqslv_scalar.csv")
