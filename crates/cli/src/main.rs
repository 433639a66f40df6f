//! `devops-agent`: wires the process's arguments, environment, stdin, stdout and stderr to
//! [`cli::run`] and exits with its status.

use std::io::Read;

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    let words: Vec<String> = std::env::args_os()
        .skip(1)
        .map(|w| w.to_string_lossy().into_owned())
        .collect();
    let env = |key: &str| std::env::var(key).ok();
    let mut stdin = || {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text).map(|_| text)
    };
    let mut out = std::io::stdout().lock();
    let mut err = std::io::stderr().lock();
    let exit = cli::run(
        &words,
        cli::Io {
            env: &env,
            stdin: &mut stdin,
            out: &mut out,
            err: &mut err,
        },
    )
    .await;
    std::process::ExitCode::from(exit.code())
}
