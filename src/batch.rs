//! Running many independent simulations in parallel and failing like one: `compare` and
//! `sweep` run their jobs through [`run_jobs`], which returns every result in job order, or the
//! error of the lowest-numbered job that failed. Which error is reported never depends on which
//! thread finished first, so a failing batch says the same thing at any thread count.

use std::sync::atomic::{AtomicUsize, Ordering};

use rayon::prelude::*;

/// Runs `job(0..n)` on the current rayon pool. On success, the results in job order; otherwise
/// the error of the lowest job index that failed. Once a job has failed, jobs with a higher
/// index are skipped (they could not change the answer); lower ones still run, since one of them
/// may fail too and its error is the one to report.
pub fn run_jobs<T, E, F>(n: usize, job: F) -> Result<Vec<T>, E>
where
    T: Send,
    E: Send,
    F: Fn(usize) -> Result<T, E> + Sync,
{
    let first_failed = AtomicUsize::new(usize::MAX);
    let results: Vec<Option<Result<T, E>>> = (0..n)
        .into_par_iter()
        .map(|j| {
            if j > first_failed.load(Ordering::Relaxed) {
                return None;
            }
            let r = job(j);
            if r.is_err() {
                first_failed.fetch_min(j, Ordering::Relaxed);
            }
            Some(r)
        })
        .collect();
    let mut out = Vec::with_capacity(n);
    for r in results {
        match r {
            Some(Ok(v)) => out.push(v),
            Some(Err(e)) => return Err(e),
            // Skipped only after a lower job failed, whose error this loop returns first.
            None => debug_assert!(false, "job skipped with no earlier failure"),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_come_in_job_order() {
        let v: Result<Vec<usize>, String> = run_jobs(100, |j| Ok(j * 2));
        assert_eq!(v.unwrap(), (0..100).map(|j| j * 2).collect::<Vec<_>>());
    }

    #[test]
    fn the_lowest_failing_job_is_reported_at_any_thread_count() {
        for threads in [1, 2, 4] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            for _ in 0..20 {
                // Jobs 17, 40 and 90 fail; late jobs are quick, so they tend to finish first.
                let r: Result<Vec<usize>, usize> = pool.install(|| {
                    run_jobs(100, |j| {
                        if j < 20 {
                            std::thread::sleep(std::time::Duration::from_micros(200));
                        }
                        if j == 17 || j == 40 || j == 90 {
                            Err(j)
                        } else {
                            Ok(j)
                        }
                    })
                });
                assert_eq!(r, Err(17), "threads {threads}");
            }
        }
    }
}
