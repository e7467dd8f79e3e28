//! Forward-mode dual numbers: a value and its derivatives w.r.t. N inputs, carried through any
//! computation written over [`Scalar`]. Used to differentiate the event-driven billiards exactly,
//! contact times included.

use std::ops::{Add, AddAssign, Div, Mul, MulAssign, Neg, Sub, SubAssign};

/// The arithmetic a differentiable simulation needs. Branches compare [`Scalar::re`] only.
pub trait Scalar:
    Copy
    + std::fmt::Debug
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
    + Mul<f64, Output = Self>
    + AddAssign
    + SubAssign
    + MulAssign
{
    /// A constant (zero derivative).
    fn cst(v: f64) -> Self;
    /// The value without derivatives.
    fn re(self) -> f64;
    /// The square root.
    fn sqrt(self) -> Self;
    /// The exponential eˣ.
    fn exp(self) -> Self;
    /// The natural logarithm.
    fn ln(self) -> Self;
}

impl Scalar for f64 {
    fn cst(v: f64) -> Self {
        v
    }
    fn re(self) -> f64 {
        self
    }
    fn sqrt(self) -> Self {
        f64::sqrt(self)
    }
    fn exp(self) -> Self {
        f64::exp(self)
    }
    fn ln(self) -> Self {
        f64::ln(self)
    }
}

/// A dual number v + Σ dv_i ε_i with ε_i ε_j = 0.
///
/// ```
/// use proxyland_physics::dual::{Dual, Scalar};
/// let x = Dual::<1>::variable(2.0, 0);
/// let y = x * x * x + x.exp();          // y' = 3x² + eˣ
/// assert!((y.du[0] - (12.0 + 2f64.exp())).abs() < 1e-12);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Dual<const N: usize> {
    /// The value v.
    pub re: f64,
    /// The derivatives dv_i w.r.t. the N inputs.
    pub du: [f64; N],
}

impl<const N: usize> Dual<N> {
    /// The input number `i` with value `v`: derivative 1 w.r.t. itself.
    pub fn variable(v: f64, i: usize) -> Self {
        let mut du = [0.0; N];
        du[i] = 1.0;
        Dual { re: v, du }
    }

    fn chain(self, value: f64, slope: f64) -> Self {
        let mut du = self.du;
        du.iter_mut().for_each(|d| *d *= slope);
        Dual { re: value, du }
    }
}

impl<const N: usize> Scalar for Dual<N> {
    fn cst(v: f64) -> Self {
        Dual {
            re: v,
            du: [0.0; N],
        }
    }
    fn re(self) -> f64 {
        self.re
    }
    fn sqrt(self) -> Self {
        let r = self.re.sqrt();
        self.chain(r, 0.5 / r)
    }
    fn exp(self) -> Self {
        let e = self.re.exp();
        self.chain(e, e)
    }
    fn ln(self) -> Self {
        self.chain(self.re.ln(), 1.0 / self.re)
    }
}

impl<const N: usize> Add for Dual<N> {
    type Output = Self;
    fn add(mut self, o: Self) -> Self {
        self += o;
        self
    }
}
impl<const N: usize> AddAssign for Dual<N> {
    fn add_assign(&mut self, o: Self) {
        self.re += o.re;
        for (a, b) in self.du.iter_mut().zip(o.du) {
            *a += b;
        }
    }
}
impl<const N: usize> Sub for Dual<N> {
    type Output = Self;
    fn sub(mut self, o: Self) -> Self {
        self -= o;
        self
    }
}
impl<const N: usize> SubAssign for Dual<N> {
    fn sub_assign(&mut self, o: Self) {
        self.re -= o.re;
        for (a, b) in self.du.iter_mut().zip(o.du) {
            *a -= b;
        }
    }
}
impl<const N: usize> Mul for Dual<N> {
    type Output = Self;
    fn mul(self, o: Self) -> Self {
        // The product rule: (a + a'ε)(b + b'ε) = ab + (a'b + ab')ε.
        #[allow(clippy::suspicious_arithmetic_impl)]
        let du = std::array::from_fn(|i| self.du[i] * o.re + self.re * o.du[i]);
        Dual {
            re: self.re * o.re,
            du,
        }
    }
}
impl<const N: usize> MulAssign for Dual<N> {
    fn mul_assign(&mut self, o: Self) {
        *self = *self * o;
    }
}
impl<const N: usize> Mul<f64> for Dual<N> {
    type Output = Self;
    fn mul(self, k: f64) -> Self {
        self.chain(self.re * k, k)
    }
}
impl<const N: usize> Div for Dual<N> {
    type Output = Self;
    fn div(self, o: Self) -> Self {
        let inv = 1.0 / o.re;
        let q = self.re * inv;
        let du = std::array::from_fn(|i| (self.du[i] - q * o.du[i]) * inv);
        Dual { re: q, du }
    }
}
impl<const N: usize> Neg for Dual<N> {
    type Output = Self;
    fn neg(self) -> Self {
        self.chain(-self.re, -1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derivatives_of_elementary_functions_match_calculus() {
        let x = Dual::<2>::variable(0.7, 0);
        let y = Dual::<2>::variable(1.3, 1);
        let f = (x * y).sqrt() + (x / y).ln() - (-x).exp() * 3.0;
        // ∂f/∂x = y/(2√(xy)) + 1/x + 3e^{-x};  ∂f/∂y = x/(2√(xy)) − 1/y
        let (xv, yv) = (0.7_f64, 1.3_f64);
        let fx = yv / (2.0 * (xv * yv).sqrt()) + 1.0 / xv + 3.0 * (-xv).exp();
        let fy = xv / (2.0 * (xv * yv).sqrt()) - 1.0 / yv;
        assert!((f.du[0] - fx).abs() < 1e-14 && (f.du[1] - fy).abs() < 1e-14);
    }
}
