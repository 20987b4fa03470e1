use std::process::ExitCode;

use clap::Parser;

use almoner::cli::{self, args::Cli};

fn main() -> ExitCode {
    // Two malloc arenas at most. A long import's SQLite pages are allocated on one thread
    // and freed on another; with an arena per thread each kept its own high-water mark, and a
    // million-payment import held 40 MB more than it used.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: sets an allocator tunable before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
    match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime.block_on(run()),
        Err(e) => {
            eprintln!("error: cannot start: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> ExitCode {
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
            // A message of several lines (every problem of a register) keeps its lines; anything
            // else that could drive the terminal is made visible.
            let text = format!("{e:#}");
            let lines: Vec<_> = text.split('\n').map(almoner::text::inert).collect();
            eprintln!("error: {}", lines.join("\n"));
            ExitCode::FAILURE
        }
    }
}
