use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = llmcap::cli::Cli::parse();
    match llmcap::commands::run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
