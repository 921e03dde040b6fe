"""Reading the engine machine's listening sockets, as /proc/net/tcp and tcp6 give them."""

from __future__ import annotations

from stacktasks.engine.machine import holds, parse_proc_net_tcp

PROC_NET_TCP = """\
  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:3C28 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1239805 1
   1: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 725587 1
   2: 0100007F:3C28 0100007F:D4E2 01 00000000:00000000 00:00000000 00000000     0        0 0 1
  sl  local_address                         remote_address                        st tx_queue
   0: 00000000000000000000000000000000:0050 00000000000000000000000000000000:0000 0A 00000000:00000000
   1: 0000000000000000FFFF00000100007F:1A0B 00000000000000000000000000000000:0000 0A 00000000:00000000
"""


def test_listeners_are_read_with_their_addresses_and_ports() -> None:
    assert parse_proc_net_tcp(PROC_NET_TCP) == {
        ("127.0.0.1", 15400),
        ("0.0.0.0", 8080),
        ("::", 80),
        ("127.0.0.1", 6667),  # an IPv4-mapped IPv6 listener
    }


def test_a_wildcard_listener_holds_the_port_on_every_address() -> None:
    listeners = parse_proc_net_tcp(PROC_NET_TCP)
    assert holds(listeners, "127.0.0.1", 8080)
    assert holds(listeners, "", 80)


def test_a_loopback_listener_holds_loopback_and_wildcard_binds_but_not_another_address() -> None:
    listeners = parse_proc_net_tcp(PROC_NET_TCP)
    assert holds(listeners, "127.0.0.1", 15400) and holds(listeners, "0.0.0.0", 15400)
    assert not holds(listeners, "10.0.0.5", 15400)


def test_a_connection_is_not_a_listener() -> None:
    assert not holds(parse_proc_net_tcp(PROC_NET_TCP), "127.0.0.1", 54498)
