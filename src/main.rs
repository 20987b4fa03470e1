use std::process::ExitCode;

use clap::Parser;

use almoner::cli::{self, args::Cli};

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Some(command) => {
            // `almoner … | head`: a reader that stops early ends us quietly, as it does any
            // command-line tool, instead of a panic from println!. (Only the command line:
            // the console's terminal is not a pipe, and it handles its own hang-ups.)
            // SAFETY: restoring the default disposition of one signal before any thread writes.
            unsafe {
                libc::signal(libc::SIGPIPE, libc::SIG_DFL);
            }
            cli::run(&cli, command).await
        }
        None => cli::console(&cli).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", almoner::text::inert(&format!("{e:#}")));
            ExitCode::FAILURE
        }
    }
}
