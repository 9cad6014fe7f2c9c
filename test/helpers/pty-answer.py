"""Runs a command on a pseudo-terminal (120 columns), answering a prompt: pty-answer.py PROMPT_REGEX ANSWER CMD...
Prints everything the command wrote, then '@@prompts=N exit=CODE'."""
import fcntl, os, pty, re, select, struct, sys, termios

prompt, answer, command = re.compile(sys.argv[1].encode()), sys.argv[2].encode(), sys.argv[3:]
pid, fd = pty.fork()
if pid == 0:
    os.execvp(command[0], command)
fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack('HHHH', 40, 120, 0, 0))
output, answered, searched = b'', 0, 0
while True:
    try:
        ready, _, _ = select.select([fd], [], [], 150)
        data = os.read(fd, 65536) if ready else b''
    except OSError:
        data = b''
    if not data:
        break
    output += data
    found = prompt.search(output, searched)
    if found:
        searched, answered = found.end(), answered + 1
        os.write(fd, answer + b'\r')
_, status = os.waitpid(pid, 0)
sys.stdout.buffer.write(output.replace(b'\r', b''))
sys.stdout.write('\n@@prompts=%d exit=%d\n' % (answered, os.waitstatus_to_exitcode(status)))
