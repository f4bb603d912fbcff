//! The failing tests a test runner's output names, so a batch on a tree whose tests were red
//! before it can be judged by "no new failures": pytest's summary lines (`FAILED path::test`,
//! `ERROR path::test`), `go test -json` events (`"Action":"fail"`) and plain `go test` output
//! (`--- FAIL: TestX` under `FAIL\tpkg`). Output a runner did not write yields `None`: such a
//! command cannot be compared, only passed or failed.

use std::collections::BTreeSet;

/// The failing tests `output` names (`tests/test_a.py::test_b`, `example.com/m/pkg.TestX`), or
/// `None` when it names none in a form this knows.
pub fn failing_tests(output: &str) -> Option<BTreeSet<String>> {
    let mut found = BTreeSet::new();
    let mut pending_go: Vec<String> = Vec::new();
    for line in output.lines() {
        let trimmed = line.trim_end();
        // pytest: the short test summary.
        for prefix in ["FAILED ", "ERROR "] {
            if let Some(rest) = trimmed.strip_prefix(prefix) {
                let id = rest.split(" - ").next().unwrap_or(rest).trim();
                if !id.is_empty() && !id.contains(' ') {
                    found.insert(id.to_string());
                }
            }
        }
        // go test -json.
        if trimmed.starts_with('{')
            && let Ok(event) = serde_json::from_str::<serde_json::Value>(trimmed)
            && event["Action"] == "fail"
        {
            let package = event["Package"].as_str().unwrap_or("");
            match event["Test"].as_str() {
                Some(test) => found.insert(format!("{package}.{test}")),
                None => found.insert(format!("{package} (package)")),
            };
            continue;
        }
        // go test: `--- FAIL: TestX (0.00s)`, then `FAIL\tpkg\t0.01s` or `FAIL\tpkg [build failed]`.
        if let Some(rest) = trimmed.trim_start().strip_prefix("--- FAIL: ") {
            if let Some(name) = rest.split_whitespace().next() {
                pending_go.push(name.to_string());
            }
            continue;
        }
        if let Some(rest) = trimmed.strip_prefix("FAIL\t") {
            let package = rest.split(['\t', ' ']).next().unwrap_or(rest);
            if pending_go.is_empty() {
                found.insert(format!("{package} (package)"));
            }
            for name in pending_go.drain(..) {
                found.insert(format!("{package}.{name}"));
            }
        }
    }
    // `--- FAIL` lines without their package line (output cut short): keep the names.
    found.extend(pending_go);
    (!found.is_empty()).then_some(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pytest_summary_lines() {
        let out = "....F.E\n=== short test summary info ===\nFAILED tests/test_a.py::test_b - assert 1 == 2\nERROR tests/test_c.py::test_d - RuntimeError\nFAILED tests/test_e.py::TestK::test_f[x-1]\n== 1 failed, 1 error, 5 passed in 0.1s ==\n";
        let got: Vec<String> = failing_tests(out).expect("found").into_iter().collect();
        assert_eq!(
            got,
            [
                "tests/test_a.py::test_b",
                "tests/test_c.py::test_d",
                "tests/test_e.py::TestK::test_f[x-1]"
            ]
        );
    }

    #[test]
    fn go_test_plain_and_json() {
        let plain = "--- FAIL: TestParse (0.00s)\n    --- FAIL: TestParse/empty (0.00s)\n        x_test.go:9: boom\nFAIL\nFAIL\texample.com/m/pricing\t0.004s\nok  \texample.com/m/store\t0.002s\nFAIL\texample.com/m/api [build failed]\n";
        let got: Vec<String> = failing_tests(plain).expect("found").into_iter().collect();
        assert_eq!(
            got,
            [
                "example.com/m/api (package)",
                "example.com/m/pricing.TestParse",
                "example.com/m/pricing.TestParse/empty"
            ]
        );
        let json = "{\"Action\":\"run\",\"Package\":\"p\",\"Test\":\"TestA\"}\n{\"Action\":\"fail\",\"Package\":\"p\",\"Test\":\"TestA\",\"Elapsed\":0}\n{\"Action\":\"fail\",\"Package\":\"p\",\"Elapsed\":0}\n";
        let got: Vec<String> = failing_tests(json).expect("found").into_iter().collect();
        assert_eq!(got, ["p (package)", "p.TestA"]);
    }

    #[test]
    fn other_output_names_nothing() {
        assert_eq!(
            failing_tests("error: cannot find module\nexit status 1\n"),
            None
        );
    }
}
