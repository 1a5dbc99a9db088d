//! Input and output of the command-line tools, shared by the binaries that include it.
//!
//! Writing to a closed pipe or a full disk is an error to report (exit status 1), not a
//! panic: `print!` would panic (exit status 101) there.

use std::io::Write as _;
use std::process::ExitCode;

/// Writes `text` to standard output and flushes it.
pub(crate) fn out(text: &str) -> Result<(), String> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(|e| format!("cannot write to standard output: {e}"))
}

/// Writes one line to standard error; a failure there has nowhere to be reported.
pub(crate) fn err_line(text: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{text}");
}

/// Parses the command line; help, version and usage errors are printed (without panicking
/// on a closed pipe) and become the exit code.
pub(crate) fn parse<P: clap::Parser>() -> Result<P, ExitCode> {
    P::try_parse().map_err(|e| {
        let _ = e.print();
        ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2))
    })
}

/// Runs the tool: an error message goes to standard error with exit status 1.
pub(crate) fn finish(result: Result<ExitCode, String>) -> ExitCode {
    match result {
        Ok(code) => code,
        Err(message) => {
            err_line(&format!("error: {message}"));
            ExitCode::FAILURE
        }
    }
}
