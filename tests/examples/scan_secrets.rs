//! The suite's secrets scan: reads everything kept under `target/test-logs/` (function logs,
//! `cargo lambda watch` logs, every answer posted to a Runtime API; see
//! `integration_tests::canary`) and fails if any canary secret appears. Run by
//! `scripts/test.sh` after the whole suite, so it covers every test, not one.

use integration_tests::canary;

fn main() -> integration_tests::Result<()> {
    let dir = canary::log_dir();
    let (mut files, mut bytes, mut leaks) = (0usize, 0usize, Vec::new());
    let mut kinds = std::collections::BTreeMap::<String, usize>::new();
    for entry in std::fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))? {
        let path = entry?.path();
        let text = String::from_utf8_lossy(&std::fs::read(&path)?).into_owned();
        files += 1;
        bytes += text.len();
        let name = path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let kind = name
            .split('-')
            .take_while(|p| !p.chars().all(|c| c.is_ascii_digit()))
            .collect::<Vec<_>>()
            .join("-");
        *kinds.entry(kind).or_default() += 1;
        for (n, line) in text.lines().enumerate() {
            for canary in canary::found_in(line) {
                leaks.push(format!("{name}:{}: {canary}", n + 1));
            }
        }
    }
    println!(
        "secrets scan: {files} files, {:.1} MB under {} ({}), {} canaries",
        bytes as f64 / 1e6,
        dir.display(),
        kinds
            .iter()
            .map(|(k, n)| format!("{n} {k}"))
            .collect::<Vec<_>>()
            .join(", "),
        canary::ALL.len()
    );
    if files == 0 {
        return Err("nothing to scan: the suite kept no logs".into());
    }
    if leaks.is_empty() {
        println!("secrets scan: no canary in any log or answer");
        Ok(())
    } else {
        Err(format!("canary secrets leaked:\n{}", leaks.join("\n")).into())
    }
}
