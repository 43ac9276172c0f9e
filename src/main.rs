fn main() {
    std::process::exit(fleet::cli::main());
}
