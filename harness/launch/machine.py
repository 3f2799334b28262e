"""Launch one QEMU for a Heisenvisor run and always clean it up.

The shape follows QEMU's python/qemu/machine: sockets in a private temp dir,
the machine owns its QMP connection (`async with Machine(cfg) as m:` launches,
connects QMP and hands out `m.qmp`; leaving the block says `quit` over QMP,
closes the connection, then stops QEMU by signal if it is still there).  The
plain `with Machine(cfg) as m:` launches without QMP, for callers that only
wait for an exit.  QEMU runs in its own session so a terminal Ctrl-C
reaches only the harness, which then stops QEMU *after* recording what it
needs; PR_SET_PDEATHSIG kills QEMU if the harness itself is killed outright,
so no QEMU outlives its harness.
"""
from __future__ import annotations

import asyncio
import ctypes
import os
import shlex
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from harness.launch.qmp import QMPClient, QMPConnectionError, QMPError

PR_SET_PDEATHSIG = 1
# Seconds a freshly launched QEMU gets to open its QMP socket (a loaded 2-core
# host with three other QEMUs starts one in well under a second).
QMP_CONNECT_WINDOW = 10.0

# docs/determinism.md: one TCG thread, a fixed icount and a virtual RTC are the
# only settings that gave byte-identical SMP runs (deterministic mode builds on
# this).  Shift 7: an instruction is 128 ns of virtual time, 7.8 M instructions
# per virtual second for the whole machine (harness/schedule.py icount_shift_for
# picks 5 for OS guests).
ICOUNT_SHIFT = 7
RTC_ARGS = ["-rtc", "base=2020-01-01T00:00:00,clock=vm"]


def deterministic_args(shift: int = ICOUNT_SHIFT) -> list[str]:
    return ["-accel", "tcg,thread=single", "-icount", f"shift={shift},sleep=off", *RTC_ARGS]


DETERMINISTIC_ARGS = deterministic_args()

# The hypervisor's asynchronous NMI source (nmi_edu=, hv/core/nmi_edu.c): QEMU's
# educational PCI device, whose DMA completes on the virtual clock and raises an
# MSI the hypervisor programs as an NMI.
EDU_NMI_ARGS = ["-device", "edu"]


class MachineError(Exception):
    """QEMU could not be started."""


# QEMU record/replay (-smp 1 only).  Measured on QEMU 7.2: rr=record together
# with sleep=off never starts the guest, so rr runs keep the default sleep.
RR_MODES = ("record", "replay")


def rr_args(mode: str, rrfile: Path, smp: int, shift: int = ICOUNT_SHIFT) -> list[str]:
    if mode not in RR_MODES:
        raise MachineError(f"record/replay mode must be one of {', '.join(RR_MODES)}, got {mode!r}")
    if smp != 1:
        raise MachineError(f"QEMU record/replay needs -smp 1 (QEMU refuses it for SMP), got smp={smp}")
    return ["-accel", "tcg,thread=single", "-icount", f"shift={shift},rr={mode},rrfile={rrfile}",
            *RTC_ARGS]


@dataclass
class MachineConfig:
    kernel: Path              # what -kernel loads (build/hv.elf32)
    initrd: Path              # the guest kernel, a multiboot module
    append: str               # the hypervisor command line
    serial_path: Path         # the binary trace lands here (-serial file:)
    initrd_args: str = ""     # the guest kernel's own command line (module 0's string after its path)
    second_module: Path | None = None  # a Linux guest's initrd (multiboot module 1)
    console_path: Path | None = None   # the guest's console: COM3 (ttyS2) into this file
    smp: int = 4
    memory_mb: int = 256
    gdbstub: bool = True      # cheap to have, and hang capture needs it
    deterministic: bool = False
    icount_shift: int = ICOUNT_SHIFT  # deterministic and rr runs: 2**shift ns per instruction
    start_paused: bool = False
    rr: str | None = None     # "record" | "replay": QEMU record/replay into/from rr_file
    rr_file: Path | None = None
    log_path: Path | None = None  # QEMU's own stdout/stderr
    # Back guest RAM with this file, shared, so the host reads guest memory (the
    # `trace=mem` log, harness/launch/memlog.py) while the machine runs and after it exits.
    ram_file: Path | None = None
    # A second serial port (COM2) fed from a unix socket the harness writes to:
    # under rr its bytes are recorded input, and the hypervisor (nmi_com2=1)
    # turns each into a self-NMI (harness/launch/rr.py).
    nmi_com2: bool = False
    # QEMU's default devices (VGA, NIC, IDE CD-ROM, floppy) are left out: they
    # cost determinism (command_line).  True puts them back, for
    # bench/bench_determinism.py's side-by-side only.
    default_devices: bool = False
    qemu_binary: str = "qemu-system-x86_64"
    extra_args: list[str] = field(default_factory=list)
    # The edu device for the hypervisor's nmi_edu= (EDU_NMI_ARGS).
    nmi_device: bool = False


def socket_paths(sockdir: Path) -> dict[str, Path]:
    """The unix sockets QEMU listens on (QMP, gdb) or reads from (COM2's NMI
    bytes), all inside one private directory."""
    return {"qmp": sockdir / "qmp.sock", "gdb": sockdir / "gdb.sock", "nmi": sockdir / "nmi.sock"}


def machine_cwd(config: MachineConfig) -> Path:
    """QEMU runs here, so -kernel/-initrd are short relative names.

    QEMU passes the kernel's path to the hypervisor as the first word of
    its multiboot command line (and the module's path as the module's),
    and parsing a longer path costs instructions: with absolute paths a
    run in another directory is not byte-identical under icount.
    """
    return Path(config.kernel).resolve().parent


def modules_arg(config: MachineConfig) -> str:
    """-initrd's value: "module0 args,module1".  QEMU splits it at commas and
    reads ",," as one comma (get_opt_value), so commas in paths and in the
    guest's command line are doubled; the module string is "path args",
    exactly what a multiboot loader hands the kernel."""
    cwd = machine_cwd(config)

    def rel(path: Path) -> str:
        return os.path.relpath(Path(path).resolve(), cwd).replace(",", ",,")
    first = rel(config.initrd) + (f" {config.initrd_args.replace(',', ',,')}" if config.initrd_args else "")
    return ",".join([first] + ([rel(config.second_module)] if config.second_module is not None else []))


def qemu_argv(config: MachineConfig, sockdir: Path) -> list[str]:
    """QEMU's argv for `config`, its sockets in `sockdir`: a pure function (it
    creates nothing, reads no file), so a replay can compute the argv a run
    would use and compare it with the recorded one without launching or
    making a directory.  Raises MachineError for a config QEMU cannot run."""
    c = config
    sockets = socket_paths(sockdir)
    accel = deterministic_args(c.icount_shift) if c.deterministic else ["-accel", "tcg"]
    if c.rr is not None:
        if c.rr_file is None:
            raise MachineError("record/replay needs rr_file")
        accel = rr_args(c.rr, Path(c.rr_file).resolve(), c.smp, c.icount_shift)
    machine = ["-machine", "pc"]
    if c.ram_file is not None:
        machine = ["-object", f"memory-backend-file,id=ram0,size={c.memory_mb}M,"
                              f"mem-path={Path(c.ram_file).resolve()},share=on",
                   "-machine", "pc,memory-backend=ram0"]
    # -nodefaults: the default VGA, NIC, IDE CD-ROM and floppy make SeaBIOS's
    # boot last a host-timing-dependent span of *virtual* time, so even
    # under icount the hypervisor started 4-7 ms of TSC later in about 1 run
    # in 20 and every later interleaving shifted with it (docs/determinism.md,
    # "QEMU: one thread, fixed icount, no default devices"; measured by
    # `make bench-determinism`).
    devices = [] if c.default_devices else ["-nodefaults"]
    args = [c.qemu_binary, *devices, *machine, *accel, "-cpu", "qemu64,+svm,+npt",
            "-smp", str(c.smp), "-m", str(c.memory_mb),
            "-kernel", Path(c.kernel).name,
            "-initrd", modules_arg(c),
            "-append", c.append,
            "-display", "none", "-monitor", "none", "-no-reboot",
            "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
            *(EDU_NMI_ARGS if c.nmi_device else []),
            "-name", "heisenvisor,debug-threads=on",
            "-serial", f"file:{Path(c.serial_path).resolve()}"]
    if c.nmi_com2:
        args += ["-serial", f"unix:{sockets['nmi']},server=on,wait=off"]
    if c.console_path is not None:
        # -serial fills COM1, COM2, COM3 in order: COM2 must exist to reach COM3.
        args += ([] if c.nmi_com2 else ["-serial", "null"]) + \
                ["-serial", f"file:{Path(c.console_path).resolve()}"]
    args += ["-qmp", f"unix:{sockets['qmp']},server,nowait"]
    if c.gdbstub:
        args += ["-gdb", f"unix:{sockets['gdb']},server,nowait"]
    if c.start_paused:
        args.append("-S")
    return args + list(c.extra_args)


def _die_with_parent() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


class Machine:
    """`with Machine(cfg) as m:` starts QEMU; leaving the block always stops it."""

    def __init__(self, config: MachineConfig) -> None:
        self.config = config
        self._sockdir: str | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._log_file: object | None = None
        self._started = 0.0
        self._ended: float | None = None
        self._log_text: str | None = None
        self._closed = False
        self._qmp: QMPClient | None = None
        self.qmp_error: str | None = None   # why QMP is not connected, once connect_qmp failed

    # --- paths -------------------------------------------------------------
    @property
    def sockdir(self) -> Path:
        if self._sockdir is None:
            if self._closed:
                raise MachineError("machine already shut down; its sockets are gone")
            # unix socket paths are limited to 108 bytes, so never under a
            # possibly deep results directory.
            self._sockdir = tempfile.mkdtemp(prefix="heisenvisor-")
        return Path(self._sockdir)

    @property
    def qmp_socket(self) -> Path:
        return socket_paths(self.sockdir)["qmp"]

    @property
    def gdb_socket(self) -> Path:
        return socket_paths(self.sockdir)["gdb"]

    @property
    def nmi_socket(self) -> Path:
        return socket_paths(self.sockdir)["nmi"]

    # --- command line --------------------------------------------------------
    @property
    def cwd(self) -> Path:
        return machine_cwd(self.config)

    def command_line(self) -> list[str]:
        return qemu_argv(self.config, self.sockdir)

    def command_line_text(self) -> str:
        return f"cd {shlex.quote(str(self.cwd))} && {shlex.join(self.command_line())}"

    # --- lifetime ------------------------------------------------------------
    def launch(self) -> None:
        if self._proc is not None:
            raise MachineError("machine already launched")
        for path in (self.config.kernel, self.config.initrd, self.config.second_module):
            if path is None:
                continue
            if not Path(path).is_file():
                raise MachineError(f"cannot launch QEMU: {path} does not exist (run `make` first?)")
        if shutil.which(self.config.qemu_binary) is None:
            raise MachineError(f"{self.config.qemu_binary} not found (run `make deps`)")
        argv = self.command_line()
        log_path = self.config.log_path or (self.sockdir / "qemu.log")
        self._log_file = open(log_path, "wb")
        self._started = time.monotonic()
        try:
            self._proc = subprocess.Popen(argv, cwd=self.cwd, stdin=subprocess.DEVNULL,
                                          stdout=self._log_file,
                                          stderr=subprocess.STDOUT, start_new_session=True,
                                          preexec_fn=_die_with_parent)
        except OSError as exc:
            self._cleanup_files()
            raise MachineError(f"cannot start {argv[0]}: {exc}") from exc

    # --- QMP -----------------------------------------------------------------
    @property
    def qmp(self) -> QMPClient:
        """The machine's QMP connection; MachineError when it has none."""
        if self._qmp is None or not self._qmp.connected:
            raise MachineError(f"no QMP connection to this machine ({self.qmp_error or 'not connected'})")
        return self._qmp

    @property
    def qmp_connected(self) -> bool:
        return self._qmp is not None and self._qmp.connected

    async def connect_qmp(self, window: float = QMP_CONNECT_WINDOW) -> str | None:
        """Connect QMP while QEMU lives: None once connected, else why not (also kept
        in `qmp_error`).  A QEMU that exits first -- a guest that finished before its
        QMP socket was up -- is not waited on for the whole window."""
        if self._proc is None:
            raise MachineError("connect_qmp before launch")
        if self.qmp_connected:
            return None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + window
        client = QMPClient(str(self.qmp_socket))
        while True:
            if self.poll() is not None:
                self.qmp_error = "QEMU exited before QMP was up"
                break
            try:
                await client.connect(retry_for=0.1)
                self._qmp, self.qmp_error = client, None
                return None
            except QMPConnectionError as exc:
                if loop.time() > deadline:
                    self.qmp_error = str(exc)
                    break
        await client.close()
        return self.qmp_error

    async def close_qmp(self, quit: bool = True) -> None:
        """`quit` over QMP while QEMU runs (the graceful way out, as QEMU's own
        machine.py takes; `quit=False` leaves QEMU running), then close the
        connection.  Idempotent."""
        if self._qmp is None:
            return
        qmp, self._qmp = self._qmp, None
        if quit and self.running and qmp.connected:
            try:
                await qmp.execute("quit", timeout=2.0)
            except (QMPError, QMPConnectionError):
                pass  # QEMU is already on its way out; shutdown() makes sure
        await qmp.close()

    async def start(self, require_qmp: bool = True) -> "Machine":
        """launch(), then connect QMP.  Without QMP the machine is stopped and
        MachineError raised, unless `require_qmp` is False: then the run goes on
        without it and `qmp_error` says why."""
        try:
            self.launch()
            why = await self.connect_qmp()
            if why is not None and require_qmp:
                raise MachineError(f"QMP did not come up: {why}")
        except BaseException:
            await self.stop()
            raise
        return self

    async def stop(self) -> None:
        """close_qmp() (QMP `quit`), then shutdown(): whatever state the machine is in."""
        try:
            await self.close_qmp()
        finally:
            self.shutdown()

    async def __aenter__(self) -> "Machine":
        return await self.start()

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.stop()

    def __enter__(self) -> "Machine":
        try:
            self.launch()
        except BaseException:
            self.shutdown()
            raise
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.shutdown()

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def poll(self) -> int | None:
        """QEMU's exit status (negative = killed by that signal), or None while it runs."""
        if self._proc is None:
            return None
        status = self._proc.poll()
        if status is not None and self._ended is None:
            self._ended = time.monotonic()
        return status

    @property
    def running(self) -> bool:
        return self._proc is not None and self.poll() is None

    @property
    def exit_status(self) -> int | None:
        return self.poll()

    @property
    def wall_time(self) -> float:
        """Seconds from launch to exit (or to now while QEMU runs)."""
        if self._proc is None:
            return 0.0
        self.poll()
        return (self._ended or time.monotonic()) - self._started

    def wait(self, timeout: float | None = None) -> int:
        assert self._proc is not None
        status = self._proc.wait(timeout)
        self.poll()
        return status

    def log_text(self) -> str:
        """What QEMU printed (kept after shutdown even when it lived in the temp dir)."""
        if self._log_text is not None:
            return self._log_text
        if self.config.log_path is None and self._sockdir is None:
            return ""
        path = self.config.log_path or (self.sockdir / "qemu.log")
        try:
            return Path(path).read_text(errors="replace")
        except OSError:
            return ""

    def shutdown(self, grace: float = 3.0) -> None:
        """SIGTERM, then SIGKILL after `grace` seconds; reap; remove sockets. Idempotent.
        A QMP connection still open is dropped: closing it needs its event loop,
        which a synchronous caller may already have ended (stop() closes it first)."""
        self._qmp = None
        if self._proc is not None and self._proc.poll() is None:
            try:
                self._proc.send_signal(signal.SIGTERM)
                self._proc.wait(grace)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
            except ProcessLookupError:
                pass
        if self._proc is not None:
            self._proc.wait()
            self.poll()
        self._cleanup_files()

    def kill(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()
            self.poll()

    def _cleanup_files(self) -> None:
        if self._log_file is not None:
            self._log_file.close()  # type: ignore[attr-defined]
            self._log_file = None
        if self._sockdir is not None:
            self._log_text = self.log_text()
            shutil.rmtree(self._sockdir, ignore_errors=True)
            self._sockdir = None
        self._closed = True
