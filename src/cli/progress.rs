//! What a person (or a CI log) sees while a run works: a progress bar on a terminal, plain
//! lines otherwise, and the `--interactive` review prompt.

use std::io::{BufRead, IsTerminal, Write};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use super::Output;
use super::render::status_word;
use crate::run::{Decision, Event, Hooks, Review};

/// Progress display and review prompts for `run` and `resume`.
pub struct Progress {
    bar: Option<ProgressBar>,
    quiet: bool,
    verbose: bool,
    dry_run: bool,
    colour: bool,
}

impl Progress {
    pub fn new(output: &Output, dry_run: bool) -> Progress {
        // A person is watching when both streams are a terminal (`| tee log` or a CI runner
        // means plain lines).
        let terminal =
            std::io::stdout().is_terminal() && std::io::stderr().is_terminal() && !output.ci;
        let bar = (terminal && !output.quiet).then(|| {
            let bar = ProgressBar::new(0);
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} batches  {msg}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        Progress {
            bar,
            quiet: output.quiet,
            verbose: output.verbose,
            dry_run,
            colour: std::io::stderr().is_terminal()
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && !output.ci,
        }
    }

    fn line(&self, text: &str) {
        if self.quiet {
            return;
        }
        match &self.bar {
            Some(bar) => bar.println(text),
            None => {
                let _ = writeln!(std::io::stderr(), "{text}");
            }
        }
    }

    fn coloured_diff(&self, diff: &str) -> String {
        if !self.colour {
            return diff.to_string();
        }
        diff.lines()
            .map(|l| {
                let code = if l.starts_with("+++") || l.starts_with("---") || l.starts_with("diff ")
                {
                    "1"
                } else if l.starts_with('+') {
                    "32"
                } else if l.starts_with('-') {
                    "31"
                } else if l.starts_with("@@") {
                    "36"
                } else {
                    return format!("{l}\n");
                };
                format!("\x1b[{code}m{l}\x1b[0m\n")
            })
            .collect()
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl Hooks for Progress {
    fn event(&mut self, event: Event<'_>) {
        match event {
            Event::Planned { plan } => {
                if let Some(bar) = &self.bar {
                    bar.set_length(plan.totals.batches as u64);
                }
                self.line(&format!(
                    "git ripple: {} batch{} planned for {}{}",
                    plan.totals.batches,
                    if plan.totals.batches == 1 { "" } else { "es" },
                    plan.recipe,
                    if self.dry_run { " (dry run)" } else { "" }
                ));
            }
            Event::Baseline { command } => match &self.bar {
                Some(bar) => bar.set_message(format!("baseline: {command}")),
                None => self.line(&format!("baseline: {command}")),
            },
            Event::Stage {
                batch,
                total,
                stage,
            } => match &self.bar {
                Some(bar) => bar.set_message(format!("batch {batch}/{total}: {stage}")),
                None => self.line(&format!("batch {batch}/{total}: {stage}")),
            },
            Event::BatchDone { report, total } => {
                if let Some(bar) = &self.bar {
                    bar.inc(1);
                }
                self.line(&format!(
                    "batch {}/{}: {}",
                    report.index,
                    total,
                    status_word(report.status)
                ));
                if self.verbose {
                    for v in &report.verify {
                        self.line(&format!(
                            "    {}: {} ({} ms)",
                            v.command, v.summary, v.duration_ms
                        ));
                    }
                }
            }
        }
    }

    fn review(&mut self, review: &Review<'_>) -> Decision {
        // The diff and the prompt go to stderr: stdout stays the report (JSON with --format
        // json).
        let show = || {
            eprint!("{}", self.coloured_diff(review.diff));
            let _ = std::io::stderr().flush();
        };
        let ask = |bar: &Option<ProgressBar>| {
            let prompt = format!(
                "Batch {}/{} passed verification. Commit it? [a]ccept, [s]kip, [e]dit, [q]uit: ",
                review.batch, review.total
            );
            let read = || {
                eprint!("{prompt}");
                let mut answer = String::new();
                match std::io::stdin().lock().read_line(&mut answer) {
                    Ok(0) | Err(_) => None,
                    Ok(_) => Some(answer.trim().to_lowercase()),
                }
            };
            match bar {
                Some(b) => b.suspend(read),
                None => read(),
            }
        };
        match &self.bar {
            Some(b) => b.suspend(show),
            None => show(),
        }
        loop {
            // End of input counts as quit: nothing is committed without a yes.
            let Some(answer) = ask(&self.bar) else {
                return Decision::Quit;
            };
            match answer.as_str() {
                "a" | "accept" | "y" | "yes" => return Decision::Accept,
                "s" | "skip" => return Decision::Skip,
                "q" | "quit" => return Decision::Quit,
                "e" | "edit" => {
                    let editor = std::env::var("VISUAL")
                        .or_else(|_| std::env::var("EDITOR"))
                        .unwrap_or_else(|_| "vi".to_string());
                    let run = || {
                        std::process::Command::new("sh")
                            .arg("-c")
                            .arg(format!("{editor} \"$@\""))
                            .arg("git-ripple-editor")
                            .args(review.files)
                            .current_dir(review.root)
                            .status()
                    };
                    let status = match &self.bar {
                        Some(b) => b.suspend(run),
                        None => run(),
                    };
                    match status {
                        Ok(s) if s.success() => return Decision::Edit,
                        _ => self.line(&format!("the editor `{editor}` failed; choose again")),
                    }
                }
                _ => self.line("answer a, s, e or q"),
            }
        }
    }
}
