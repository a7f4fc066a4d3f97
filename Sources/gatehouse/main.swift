import App
import Foundation
import GatehouseCore
import Server

/// `gatehouse` — the command line. Hand-written argument parsing (no package dependencies).
let arguments = Array(CommandLine.arguments.dropFirst())
exit(CLI.run(arguments))
