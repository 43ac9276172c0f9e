# pyinfra's version of bench/weekly-bench.kdl. pyinfra operations cannot
# see a command's output at deploy time, so the df assertion runs on the
# host (awk exits non-zero when the capacity is >= 90% or missing).
from pyinfra.operations import server

server.shell(name="disk", commands=["df -P / && df -P / | awk 'NR==2 {sub(\"%\",\"\",$5); ok=($5+0<90)} END {exit !ok}'"])
server.shell(name="uptime", commands=["uptime"])
server.shell(name="memory", commands=["head -3 /proc/meminfo"])
server.shell(name="clock", commands=["date +%s"])
server.shell(name="tmp", commands=["ls -la /tmp | wc -l"])
