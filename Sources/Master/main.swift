import Glibc

// Clear the signal mask before anything else: a child of a test runner (or of some init systems) inherits blocked
// signals, and a gateway with SIGTERM blocked cannot be stopped. posix_spawn resets it again for the workers.
var emptySignalMask = sigset_t()
sigemptyset(&emptySignalMask)
sigprocmask(SIG_SETMASK, &emptySignalMask, nil)

exit(MasterCommand.main(arguments: Array(CommandLine.arguments.dropFirst())))
