use std::process::ExitCode;

use clap::Parser;

use almoner::cli::{self, args::Cli};

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Some(command) => cli::run(&cli, command).await,
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
