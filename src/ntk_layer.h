/* One step of the analytic ReLU NTK recursion, the same code for the CPU
 * (ntk_analytic.c) and the CUDA (ntk_cuda.cu) paths, so that the two cannot drift apart.
 * For a pair with Sigma(x, x') = sigma and the roots of its own variances, with
 * k1 = sigma_w^2 / (2 pi):
 *   c = sigma / sqrt(Sigma(x, x) Sigma(x', x')), snapped to +-1 within 8 ulp (acos is
 *       infinitely ill-conditioned there: two identical rows, whose c differs from 1 only by
 *       rounding, would otherwise get t ~ 1e-8 instead of 0), 0 for a point of zero norm;
 *   t = acos(c), pt = pi - t, sin t = sqrt((1 - c)(1 + c));
 *   Sigma' = k1 sqrt(...) (sin t + pt c) + sigma_b^2,   Theta' = Theta k1 pt + Sigma'. */
#ifndef NTK_LAYER_H
#define NTK_LAYER_H
#ifdef __CUDACC__
#define NTK_HD __host__ __device__
#else
#define NTK_HD
#endif
#define NTK_PI 3.141592653589793238462643383279502884
#define NTK_C_SNAP (1.0 - 8.0 * 2.220446049250313e-16)

/* c snapped to [-1, 1]: exactly +-1 within 8 ulp of them. */
NTK_HD static inline double ntk_layer_cos(double c)
{
  return c > NTK_C_SNAP ? 1.0 : (c < -NTK_C_SNAP ? -1.0 : c);
}

/* Sigma' and Theta' from the snapped c, pt = pi - acos(c) (each platform brings its
 * acos), a = k1 sqrt(Sigma(x, x) Sigma(x', x')). */
NTK_HD static inline void ntk_layer_step(double c, double pt, double a, double k1, double sb2,
                                         double *sig, double *th)
{
  double sn = sqrt((1.0 - c) * (1.0 + c));
  double sg = a * (sn + pt * c) + sb2;
  *sig = sg;
  *th = *th * k1 * pt + sg;
}
#endif
