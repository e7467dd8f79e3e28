//! argmin's BFGS with the More–Thuente line search works on our ndarray: it solves Rosenbrock.

use argmin::core::{CostFunction, Error, Executor, Gradient, State};
use argmin::solver::linesearch::MoreThuenteLineSearch;
use argmin::solver::quasinewton::BFGS;
use ndarray::{Array1, Array2, array};
use openblas_src as _;

struct Rosenbrock;

impl CostFunction for Rosenbrock {
    type Param = Array1<f64>;
    type Output = f64;
    fn cost(&self, p: &Array1<f64>) -> Result<f64, Error> {
        Ok((1.0 - p[0]).powi(2) + 100.0 * (p[1] - p[0] * p[0]).powi(2))
    }
}

impl Gradient for Rosenbrock {
    type Param = Array1<f64>;
    type Gradient = Array1<f64>;
    fn gradient(&self, p: &Array1<f64>) -> Result<Array1<f64>, Error> {
        Ok(array![
            -2.0 * (1.0 - p[0]) - 400.0 * p[0] * (p[1] - p[0] * p[0]),
            200.0 * (p[1] - p[0] * p[0])
        ])
    }
}

#[test]
fn bfgs_with_more_thuente_solves_rosenbrock_to_1e10() {
    let solver = BFGS::new(MoreThuenteLineSearch::new())
        .with_tolerance_grad(1e-12)
        .unwrap();
    let result = Executor::new(Rosenbrock, solver)
        .configure(|s| {
            s.param(array![-1.2, 1.0])
                .inv_hessian(Array2::eye(2))
                .max_iters(200)
        })
        .run()
        .unwrap();
    let best = result.state().get_best_param().unwrap();
    assert!(
        (best[0] - 1.0).abs() < 1e-10 && (best[1] - 1.0).abs() < 1e-10,
        "{best}"
    );
}

#[test]
fn openblas_backed_solve_is_correct_even_next_to_libtorch() {
    // libtorch bundles LAPACK symbols; make sure a small solve still resolves to a correct one.
    use ndarray_linalg::Solve;
    let a: Array2<f64> = array![[4.0, 1.0, 0.5], [1.0, 3.0, 0.2], [0.5, 0.2, 2.0]];
    let x_true: Array1<f64> = array![1.0, -2.0, 0.5];
    let b = a.dot(&x_true);
    let x = a.solve(&b).unwrap();
    assert!((&x - &x_true).iter().all(|e| e.abs() < 1e-13), "{x}");
}
