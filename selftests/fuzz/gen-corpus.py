#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Write the seed corpus of at_parse_fuzz: the modem side of the example
transcripts of both vendor notes (spec/000_*.txt legacy, spec/001_*.txt
modern) plus edge cases.  Each file is the 8-byte header described in
at_parse_fuzz.c followed by the bytes the modem sends.

Usage: gen-corpus.py OUTDIR   (deterministic; file names are the seed names)
"""
import os
import struct
import sys

IPD, ECHO, RAWCONN, TOGGLE, RESET, FLIPPUSH = 1, 2, 4, 8, 16, 32


def r(s):
    """One response line as the modem frames it."""
    return b"\r\n" + s + b"\r\n"


def c(s):
    """The echo of one command line."""
    return s + b"\r"


def hdr(flags=ECHO, push=0, seed=0, a=0, b=0):
    return struct.pack("<BIBBB", flags, push, seed, a, b)


SEEDS = {
    # legacy dialect, chapter 2..8
    "legacy_init": (hdr(), c(b"AT+IPR=115200&W") + r(b"OK") + c(b"AT+CPIN?") + r(b"+CPIN:READY")
                    + r(b"OK") + c(b"AT+CREG?") + r(b"+CREG: 0,1") + r(b"OK") + c(b"AT+CGATT?")
                    + r(b"+CGATT: 1") + r(b"OK") + c(b"AT+QIFGCNT=0") + r(b"OK")
                    + c(b'AT+QICSGP=1,"CMNET"') + r(b"OK")),
    "legacy_options": (hdr(), c(b"AT+QINDI=1") + r(b"OK") + c(b"AT+QIHEAD=1") + r(b"OK")
                       + c(b"AT+QISHOWRA=1") + r(b"OK") + c(b"AT+QISHOWPT=1") + r(b"OK")
                       + c(b"AT+QIMODE=1") + r(b"OK") + c(b"AT+QITCFG=3,2,512,1") + r(b"OK")),
    "legacy_open_tcp": (hdr(), c(b'AT+QIOPEN="TCP","116.226.39.202","7007"') + r(b"OK")
                        + r(b"CONNECT OK")),
    "legacy_open_fail": (hdr(), c(b'AT+QIOPEN="TCP","116.226.39.202","7007"') + r(b"OK")
                         + r(b"CONNECT FAIL") + c(b"AT+QISTAT") + r(b"OK")
                         + r(b"STATE: TCP CONNECTING") + c(b"AT+QICLOSE") + r(b"CLOSE OK")),
    "legacy_already": (hdr(), c(b'AT+QIOPEN="UDP","116.226.39.202","7007"')
                       + r(b"ALREADY CONNECT") + r(b"ERROR")),
    "legacy_send": (hdr(), c(b"AT+QISEND") + b"\r\n> " + r(b"SEND OK") + c(b"AT+QISACK")
                    + r(b"+QISACK: 4, 4, 0") + r(b"OK") + c(b"AT+QISEND=3") + b"\r\n>"
                    + r(b"SEND OK") + c(b"AT+QISACK") + r(b"+QISACK: 17, 17, 0") + r(b"OK")),
    "legacy_ipd": (hdr(IPD), b"\r\nRECV FROM:116.228.146.250:7070\r\n"
                   b"IPD36TCP:1234567890abcdefghijklmnopqrstuvwxyz" + r(b"OK")),
    "legacy_ipd_binary": (hdr(IPD, seed=7), b"IPD12UDP:\r\nOK\r\nCLOSED\r\nIPD0:IPD3:\x00\xff>"
                          + r(b"CLOSED")),
    "legacy_qird": (hdr(), r(b"+QIRDI:0,1,0") + c(b"AT+QIRD=0,1,0,1024")
                    + b"\r\n+QIRD:116.228.146.250:7070,TCP,36\r\n"
                    b"1234567890abcdefghijklmnopqrstuvwxyz" + r(b"OK")),
    "legacy_keepalive": (hdr(), c(b"AT+QISACK") + r(b"+QISACK: 1484,1448,36") + r(b"OK")
                         + c(b"AT+QISEND") + b"\r\n> " + r(b"SEND OK") + c(b"AT+QISACK")
                         + r(b"+QISACK: 1491,1491,0") + r(b"OK")),
    "legacy_close": (hdr(), c(b"AT+QICLOSE") + r(b"CLOSE OK") + c(b"AT+QIDEACT")
                     + r(b"DEACT OK")),
    "legacy_transparent": (hdr(ECHO | RAWCONN | TOGGLE, a=200),
                           c(b'AT+QIOPEN="TCP","116.226.39.202","7007"') + r(b"OK")
                           + r(b"CONNECT") + b"abcdefghijklmnopqrstuvwxyz1234567890" + r(b"OK")),
    "legacy_closed": (hdr(), r(b"CLOSED") + r(b"+PDP DEACT") + c(b"AT+QIDEACT")
                      + r(b"DEACT OK")),
    "legacy_multi": (hdr(), c(b"AT+QIMUX=1") + r(b"OK") + c(b'AT+QIOPEN=0,"TCP","1.2.3.4","80"')
                     + r(b"OK") + r(b"0, CONNECT OK") + r(b"1, CONNECT FAIL")
                     + r(b"2, ALREADY CONNECT") + r(b"+QIRDI: 0,1,2") + r(b"3, CLOSED")
                     + r(b"4, CLOSE OK")),
    # modern dialect, chapter 3
    "modern_context": (hdr(), c(b"AT+QICSGP=1") + r(b'+QICSGP: 1,"","","",0') + r(b"OK")
                       + c(b'AT+QICSGP=1,1,"UNINET","","",1') + r(b"OK") + c(b"AT+QIACT=1")
                       + r(b"OK") + c(b"AT+QIACT?") + r(b'+QIACT: 1,1,1,"10.7.157.1"')
                       + r(b"OK") + c(b"AT+QIDEACT=1") + r(b"OK")),
    "modern_open_buffer": (hdr(), c(b'AT+QIOPEN=1,0,"TCP","220.180.239.212",8009,0,0')
                           + r(b"OK") + r(b"+QIOPEN: 0,0") + c(b"AT+QISTATE=1,0")
                           + r(b'+QISTATE: 0,"TCP","220.180.239.201",8009,65514,2,1,0,0,'
                               b'"usbmodem"') + r(b"OK")),
    "modern_send": (hdr(), c(b"AT+QISEND=0") + b"\r\n> " + r(b"SEND OK") + c(b"AT+QISEND=0,4")
                    + b"\r\n> " + r(b"SEND OK") + c(b"AT+QISEND=0,0") + r(b"+QISEND: 9,9,0")
                    + r(b"OK") + c(b'AT+QISENDEX=0,"3132333435"') + r(b"SEND OK")
                    + r(b"SEND FAIL")),
    "modern_qird": (hdr(), r(b'+QIURC: "recv",0') + c(b"AT+QIRD=0,1500")
                    + b"\r\n+QIRD: 5\r\ntest1\r\n\r\nOK\r\n" + c(b"AT+QIRD=0,1500")
                    + r(b"+QIRD: 0") + r(b"OK") + c(b"AT+QIRD=0,0") + r(b"+QIRD: 10,10,0")
                    + r(b"OK")),
    "modern_recvind": (hdr(), c(b'AT+QICFG="recvind",1') + r(b"OK") + r(b'+QIURC: "recv",0,5')
                       + c(b"AT+QIRD=0,1500") + b"\r\n+QIRD: 5\r\ntest1\r\n\r\nOK\r\n"),
    "modern_transparent": (hdr(ECHO | RAWCONN | TOGGLE, a=180),
                           c(b'AT+QIOPEN=1,0,"TCP","220.180.239.212",8009,0,2') + r(b"CONNECT")
                           + b"Test 1" + r(b"OK") + c(b"AT+QICLOSE=0") + r(b"OK")),
    "modern_push": (hdr(push=1), c(b'AT+QIOPEN=1,0,"TCP","220.180.239.212",8009,0,1')
                    + r(b"OK") + r(b"+QIOPEN: 0,0") + b'\r\n+QIURC: "recv",0,4\r\ntest'
                    + c(b"AT+QICLOSE=0") + r(b"OK")),
    "modern_server": (hdr(), c(b'AT+QIOPEN=1,1,"TCP LISTENER","127.0.0.1",0,2020,0') + r(b"OK")
                      + r(b"+QIOPEN: 1,0")
                      + r(b'+QIURC: "incoming",11,1,"172.31.242.222",54091')
                      + r(b'+QIURC: "recv",11') + c(b"AT+QIRD=11,1500")
                      + b"\r\n+QIRD: 4\r\ntest\r\n\r\nOK\r\n" + c(b"AT+QIRD=11,0")
                      + r(b"+QIRD: 4,4,0") + r(b"OK") + r(b'+QIURC: "incoming full",1')),
    "modern_udp": (hdr(), c(b'AT+QIOPEN=1,2,"UDP SERVICE","127.0.0.1",0,3030,0') + r(b"OK")
                   + r(b"+QIOPEN: 2,0") + c(b'AT+QISEND=2,10,"10.7.89.10",6969') + b"\r\n>"
                   + r(b"SEND OK") + r(b'+QIURC: "recv",2') + c(b"AT+QIRD=2")
                   + b'\r\n+QIRD: 4,"10.7.76.34",7687\r\nAAAA\r\n\r\nOK\r\n'),
    "modern_udp_push": (hdr(push=0xfff), b'\r\n+QIURC: "recv",2,4,"10.7.76.34",7687\r\nAAAA'
                        + b'\r\n+QIURC: "recv",3,3,"fe80::1",1\r\n\r\n>' + r(b"OK")),
    "modern_ping": (hdr(), c(b'AT+QPING=1,"www.baidu.com"') + r(b"OK")
                    + r(b'+QPING: 0,"61.135.169.125",32,192,255')
                    + r(b'+QPING: 0,"61.135.169.125",32,479,255')
                    + r(b"+QPING: 0,4,4,0,192,479,288")),
    "modern_geterror": (hdr(), c(b'AT+QIOPEN=1,"TCP","220.180.239.212",8009,0,1') + r(b"ERROR")
                        + c(b"AT+QIGETERROR") + r(b"+QIGETERROR: 552, invalid parameters")
                        + r(b"OK")),
    "modern_test_cmds": (hdr(), c(b"AT+QIRD=?") + r(b"+QIRD: (0-11),(0-1500)") + r(b"OK")
                         + c(b"AT+QIOPEN=?")
                         + r(b'+QIOPEN: (1-16),(0-11),"TCP/UDP/TCP LISTENER/UDP SERVICE",'
                             b'"<IP_address>/<domain_name>",<remote_port>,<local_port>,(0-2)')
                         + r(b"OK")),
    "modern_urcs": (hdr(FLIPPUSH), r(b'+QIURC: "closed",0') + r(b'+QIURC: "pdpdeact",1')
                    + r(b'+QIURC: "recv",0,3') + b'\r\n+QIURC: "recv",0,3\r\nabc'
                    + r(b'+QIURC: "dnsgip",0,1,600') + r(b"RDY") + r(b"+CFUN: 1")
                    + r(b"+CPIN: READY") + r(b"+QIND: SMS DONE") + r(b"+CEREG: 1")
                    + r(b"Call Ready") + r(b"SMS Ready") + r(b"POWERED DOWN")),
    "finals": (hdr(0), r(b"+CME ERROR: 10") + r(b"+CME ERROR: SIM not inserted")
               + r(b"+CMS ERROR: 500") + r(b"NO CARRIER") + r(b"CONNECT 115200")
               + c(b"ATI") + r(b"Quectel") + r(b"EC25") + r(b"Revision: EC25EFAR06A03M4G")),
    # edge cases
    "binary_qird": (hdr(0), b"\r\n+QIRD: 29\r\n\r\nOK\r\n+QIURC: \"closed\",0\r\n\x00> "
                    + r(b"OK")),
    "binary_push": (hdr(0, push=0x800), b'\r\n+QIURC: "recv",11,11\r\n\r\nOK\r\n> RDY' + r(b"OK")),
    "bogus_lengths": (hdr(IPD, push=1), r(b"+QIRD: 1501") + r(b"+QIRD: -1")
                      + r(b"+QIRD: 99999999999999999999") + r(b'+QIURC: "recv",0,2000')
                      + b"IPD99999TCP:abc\r\n" + r(b"OK")),
    "garbage": (hdr(0), b"\x01\x02junk\r\nOK\r\n\x00\x00\xff\xff\r\nRDY\r\nab\x00cd\r\n"
                b"\x1b[0m\r\ncaf\xc3\xa9\r\n"),
    "overlong": (hdr(0), r(b"+QIRD: 5" + b" " * 600) + b"abcde" + r(b"A" * 511) + r(b"OK")),
    "reset_mid_payload": (hdr(RESET, b=128), b"\r\n+QIRD: 100\r\nabcdefghij" + r(b"RDY")),
    "raw_mode": (hdr(RAWCONN | TOGGLE, a=230), b"\r\nCONNECT\r\n\r\nNO CARRIER\r\n\x00> "
                 + r(b"OK")),
    "prompt": (hdr(0), b"\r\n> \r\nSEND OK\r\n\r\n>\r\nSEND FAIL\r\na>b\r\n>  x\r\n"),
    "echo_lower": (hdr(), b"at+qiact?\r\r\nOK\r\nAT\r\n\r\nOK\r\n\r\nRDY\r\nAT+CPIN?\r"
                   + r(b"+CPIN: READY") + r(b"OK")),
    "interleaved": (hdr(push=2), c(b"AT+QIACT?") + r(b'+QIACT: 1,1,1,"10.7.157.1"')
                    + r(b'+QIURC: "closed",3') + b'\r\n+QIURC: "recv",1,3\r\nabc'
                    + r(b"OK") + c(b"AT+QIRD=0,1500") + r(b"+QIRD: 2") + b"xy"
                    + b'\r\n+QIURC: "recv",1,1\r\nz' + r(b"OK")),
}


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "corpus", "at_parse")
    os.makedirs(out, exist_ok=True)
    for name, (h, data) in sorted(SEEDS.items()):
        with open(os.path.join(out, name), "wb") as f:
            f.write(h + data)
    print(f"{len(SEEDS)} seeds in {out}")


if __name__ == "__main__":
    main()
