# Reference values for letrolab.synergy._sf2.vmmin (letrolab project, written for its tests):
# R's optim(method = "BFGS") with the settings drc 3.0-1 uses. Run: Rscript r_optim_bfgs.R
options(digits = 17)
rosen <- function(p) 100 * (p[2] - p[1]^2)^2 + (1 - p[1])^2
x <- c(0.5, 1, 2, 4, 8, 16, 32); yl <- c(3.1, 5.2, 11.8, 27.5, 52.3, 68.1, 74.9)
logis <- function(p) sum((yl - (2 + (p[2] - 2) / (1 + exp(p[1] * (x - p[3])))))^2)
ye <- c(9.7, 8.1, 6.2, 4.4, 2.1, 0.9, 0.45)
expo <- function(p) sum((ye - p[1] * exp(-p[2] * x) - p[3])^2)
cases <- list(list("rosenbrock", rosen, c(-1.2, 1)), list("rosenbrock_far", rosen, c(3, -2)),
              list("logistic_bottom2", logis, c(-0.2, 80, 6)), list("exp_decay", expo, c(10, 0.3, 0.1)))
rows <- list()
for (cs in cases) {
  st <- cs[[3]]; ps <- abs(st); ps[ps < 1e-4] <- 1
  o <- optim(st, cs[[2]], method = "BFGS", hessian = TRUE, control = list(maxit = 500, reltol = 1e-7, parscale = ps))
  rows[[length(rows) + 1]] <- data.frame(case = cs[[1]], i = seq_along(st), start = st, par = o$par,
                                         value = o$value, fncount = o$counts[1], grcount = o$counts[2], convergence = o$convergence)
}
d <- do.call(rbind, rows)
write.csv(format(d, digits = 17), "r_optim_bfgs.csv", row.names = FALSE, quote = FALSE)
print(d)
