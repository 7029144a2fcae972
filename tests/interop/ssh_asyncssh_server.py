"""A tiny asyncssh server for interop tests: password auth, exec echoes the command and
stdin back, exits with the code given as `exit N`. Prints LISTENING <port> when ready."""
import asyncio
import sys
import warnings

warnings.filterwarnings("ignore")
import asyncssh  # noqa: E402

PASSWORD = sys.argv[3]


class Server(asyncssh.SSHServer):
    def begin_auth(self, username):
        return True

    def password_auth_supported(self):
        return True

    def validate_password(self, username, password):
        return password == PASSWORD


async def handle(process):
    command = process.command or ""
    if command.startswith("exit "):
        process.exit(int(command.split()[1]))
        return
    if command == "cat":
        while True:
            data = await process.stdin.read(65536)
            if not data:
                break
            process.stdout.write(data)
        process.exit(0)
        return
    process.stdout.write(("ran: " + command + "\n").encode())
    process.stderr.write(b"on stderr\n")
    process.exit(0)


async def main():
    port = int(sys.argv[1])
    await asyncssh.create_server(
        Server, "127.0.0.1", port, server_host_keys=[sys.argv[2]],
        process_factory=handle, encoding=None,
    )
    print("LISTENING", port, flush=True)
    await asyncio.Future()


asyncio.run(main())
