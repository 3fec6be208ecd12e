//! Levenberg–Marquardt on log-space residuals, so every level weighs by its relative error.

use levenberg_marquardt::{LeastSquaresProblem, LevenbergMarquardt};
use nalgebra::{storage::Owned, DMatrix, DVector, Dyn};

/// One operating point with the median the model must reproduce.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Point {
    pub concurrency: f64,
    pub prompt_tokens: f64,
    pub output_tokens: f64,
    pub target: f64,
}

/// A model form as the optimiser sees it: unconstrained parameters `u` → a positive prediction.
pub trait Form {
    fn parameter_count(&self) -> usize;
    fn eval(&self, u: &[f64], point: &Point) -> f64;
}

struct LogProblem<'a, F: Form> {
    form: &'a F,
    points: &'a [Point],
    u: DVector<f64>,
}

impl<F: Form> LogProblem<'_, F> {
    fn residuals_at(&self, u: &[f64]) -> DVector<f64> {
        DVector::from_iterator(
            self.points.len(),
            self.points.iter().map(|p| {
                let value = self.form.eval(u, p);
                // A non-finite or non-positive prediction is a very bad fit, not a crash.
                if value.is_finite() && value > 0.0 {
                    value.ln() - p.target.ln()
                } else {
                    1e3
                }
            }),
        )
    }
}

impl<F: Form> LeastSquaresProblem<f64, Dyn, Dyn> for LogProblem<'_, F> {
    type ResidualStorage = Owned<f64, Dyn>;
    type JacobianStorage = Owned<f64, Dyn, Dyn>;
    type ParameterStorage = Owned<f64, Dyn>;

    fn set_params(&mut self, x: &DVector<f64>) {
        self.u.copy_from(x);
    }

    fn params(&self) -> DVector<f64> {
        self.u.clone()
    }

    fn residuals(&self) -> Option<DVector<f64>> {
        Some(self.residuals_at(self.u.as_slice()))
    }

    /// Central differences: the forms are cheap and smooth almost everywhere.
    fn jacobian(&self) -> Option<DMatrix<f64>> {
        let n = self.u.len();
        let mut jacobian = DMatrix::zeros(self.points.len(), n);
        let mut u = self.u.as_slice().to_vec();
        for j in 0..n {
            let h = 1e-6 * (1.0 + u[j].abs());
            let original = u[j];
            u[j] = original + h;
            let plus = self.residuals_at(&u);
            u[j] = original - h;
            let minus = self.residuals_at(&u);
            u[j] = original;
            jacobian.set_column(j, &((plus - minus) / (2.0 * h)));
        }
        Some(jacobian)
    }
}

/// The best of several starts: `(parameters, sum of squared log errors)`.
/// `None` when there are fewer points than parameters or no start converged to a finite cost.
pub fn best_fit<F: Form>(
    form: &F,
    points: &[Point],
    starts: &[Vec<f64>],
) -> Option<(Vec<f64>, f64)> {
    if points.len() < form.parameter_count() {
        return None;
    }
    let solver = LevenbergMarquardt::new().with_patience(400);
    starts
        .iter()
        .filter_map(|start| {
            let problem = LogProblem {
                form,
                points,
                u: DVector::from_column_slice(start),
            };
            let (solved, _report) = solver.minimize(problem);
            let cost = solved.residuals_at(solved.u.as_slice()).norm_squared();
            cost.is_finite()
                .then(|| (solved.u.as_slice().to_vec(), cost))
        })
        .min_by(|a, b| a.1.total_cmp(&b.1))
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Exponential;
    impl Form for Exponential {
        fn parameter_count(&self) -> usize {
            2
        }
        fn eval(&self, u: &[f64], p: &Point) -> f64 {
            u[0].exp() * (u[1] * p.concurrency).exp()
        }
    }

    #[test]
    fn recovers_an_exact_curve() {
        let points: Vec<Point> = (1..6)
            .map(|c| Point {
                concurrency: c as f64,
                prompt_tokens: 1.0,
                output_tokens: 1.0,
                target: 2.0 * (0.3 * c as f64).exp(),
            })
            .collect();
        let (u, cost) = best_fit(&Exponential, &points, &[vec![0.0, 0.0]]).unwrap();
        assert!(cost < 1e-12);
        assert!((u[0].exp() - 2.0).abs() < 1e-6 && (u[1] - 0.3).abs() < 1e-6);
    }

    #[test]
    fn refuses_too_few_points() {
        let point = Point {
            concurrency: 1.0,
            prompt_tokens: 1.0,
            output_tokens: 1.0,
            target: 1.0,
        };
        assert!(best_fit(&Exponential, &[point], &[vec![0.0, 0.0]]).is_none());
    }
}
