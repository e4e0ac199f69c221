import { HelperGone, ResidentHelper } from '@berth/subprocess';

/**
 * Runs a short host tool (a start's `ip -batch` processes) as a child of a small resident Perl
 * process instead of this one. Node's spawn forks the whole agent (~90 MB): its event loop stands
 * still until the child has exec'd, 10–130 ms a child on the loaded 2-core hosts, and the child
 * starts that much later; a fork of the ~5 MB Perl process takes about a millisecond (bench/README.md,
 * "`run -d`: per phase beside Podman's processes"). perl-base is Essential in Debian, as for the
 * mount helper (libs/subprocess mount-helper.ts), whose shape this follows: one request a line on
 * its stdin (hex fields: the program's path, its arguments, its stdin), one answer a line on its
 * stdout, in order (exit code, hex stdout, hex stderr; a code of -1: the helper could not run it).
 * The helper runs one tool at a time; it ends with its stdin, so with this process.
 *
 * `run` answers undefined when there is no helper (perl missing, it died, `BERTH_TOOL_FORKER=off`):
 * the caller runs the tool itself.
 */
const SCRIPT = `
$| = 1;
$SIG{PIPE} = 'IGNORE';
while (my $line = <STDIN>) {
  chomp $line;
  my @f = map { pack('H*', $_) } split /\\t/, $line, -1;
  my $in = pop @f;
  my ($ir, $iw, $or, $ow, $er, $ew);
  unless (pipe($ir, $iw) && pipe($or, $ow) && pipe($er, $ew)) { print "-1\\t\\t\\n"; next; }
  my $pid = fork;
  if (!defined $pid) { close $_ for ($ir, $iw, $or, $ow, $er, $ew); print "-1\\t\\t\\n"; next; }
  if ($pid == 0) {
    close $iw; close $or; close $er;
    open(STDIN, '<&', $ir); open(STDOUT, '>&', $ow); open(STDERR, '>&', $ew);
    exec { $f[0] } @f;
    print STDERR "$f[0]: $!\\n";
    exit 127;
  }
  close $ir; close $ow; close $ew;
  my ($out, $err, $off) = ('', '', 0);
  if (length($in) == 0) { close $iw; undef $iw; }
  while ($iw || $or || $er) {
    my ($rin, $win) = ('', '');
    vec($rin, fileno($or), 1) = 1 if $or;
    vec($rin, fileno($er), 1) = 1 if $er;
    vec($win, fileno($iw), 1) = 1 if $iw;
    next if select(my $rout = $rin, my $wout = $win, undef, undef) < 0;
    if ($iw && vec($wout, fileno($iw), 1)) {
      my $n = syswrite($iw, $in, 4096, $off);
      if (defined $n) { $off += $n; }
      if (!defined $n || $off >= length($in)) { close $iw; undef $iw; }
    }
    for my $h (['out', \\$or, \\$out], ['err', \\$er, \\$err]) {
      my ($name, $fh, $buf) = @$h;
      next unless $$fh && vec($rout, fileno($$fh), 1);
      my $n = sysread($$fh, my $chunk, 65536);
      if ($n) { $$buf .= $chunk; } else { close $$fh; undef $$fh; }
    }
  }
  waitpid($pid, 0);
  my $code = ($? & 127) ? 128 + ($? & 127) : $? >> 8;
  print join("\\t", $code, unpack('H*', $out), unpack('H*', $err)), "\\n";
}
`;

export interface ForkedResult {
  code: number;
  stdout: string;
  stderr: string;
}

class ToolForker {
  private readonly helper = new ResidentHelper('tool forker', SCRIPT, [], process.env.BERTH_TOOL_FORKER === 'off');

  /** Runs `file` (an absolute path) with `args` and `input` on its stdin; undefined: run it yourself. */
  async run(file: string, args: string[], input = ''): Promise<ForkedResult | undefined> {
    const hex = (s: string) => Buffer.from(s).toString('hex');
    let line: string;
    try {
      line = await this.helper.ask([file, ...args, input].map(hex).join('\t'));
    } catch (err) {
      if (err instanceof HelperGone) return undefined;
      throw err;
    }
    const [code, stdout, stderr] = line.split('\t');
    const unhex = (s: string | undefined) => Buffer.from(s ?? '', 'hex').toString();
    return Number(code) < 0 || code === undefined ? undefined : { code: Number(code), stdout: unhex(stdout), stderr: unhex(stderr) };
  }
}

/** This process's tool forker. */
export const toolForker = new ToolForker();
