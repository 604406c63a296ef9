"""Hostile programs, one per line of attack, by the categories of SANDBOX.md.

``{CANARY}`` is a file outside the sandbox whose content must never come back; ``{TARGET}`` a
path outside the sandbox that must never be created; ``{PORT}`` a loopback port where the test
listens and must receive no connection. Most go through ``torch``'s own re-exports
(``torch.os``, ``torch.builtins``...), which no in-process filter can take away.
"""

HOSTILE: dict[str, str] = {
    # ---- reading files
    "open_builtin": "print(open('{CANARY}').read())",
    "open_torch_builtins": "import torch\nprint(torch.builtins.open('{CANARY}').read())",
    "os_open_read": "import torch\nfd = torch.os.open('{CANARY}', 0)\nprint(torch.os.read(fd, 100))",
    "torch_load": "import torch\nprint(torch.load('{CANARY}', weights_only=False))",
    "torch_from_file": "import torch\nprint(torch.from_file('{CANARY}', size=8, dtype=torch.uint8))",
    "listdir_home": "import torch\nprint(torch.os.listdir('/root'), torch.os.listdir('/work'))",
    "read_proc_parent": "import torch\nprint(open('/proc/1/environ').read())",
    "importlib_source": "import torch\nprint(torch.importlib.import_module('pathlib').Path('{CANARY}').read_text())",
    # ---- writing files
    "open_write": "open('{TARGET}', 'w').write('pwned')",
    "torch_save": "import torch\ntorch.save(torch.ones(2), '{TARGET}')",
    "os_write_tmp_then_target": "import torch\ntorch.os.makedirs('{TARGET}', exist_ok=True)",
    "write_into_app": "import torch, gradstage\nopen(gradstage.__file__, 'a').write('#x')",
    # ---- processes
    "os_system": "import torch\nprint(torch.os.system('cat {CANARY}; touch {TARGET}'))",
    "os_fork": "import torch\npid = torch.os.fork()\nprint('forked', pid)",
    "subprocess_run": "import torch\nsp = torch.importlib.import_module('subprocess')\nprint(sp.run(['cat', '{CANARY}'], capture_output=True).stdout)",
    "multiprocessing": "import torch\nmp = torch.importlib.import_module('multiprocessing')\np = mp.Process(target=print, args=('child',))\np.start()\np.join()",
    "ctypes_system": "import torch\nlibc = torch.ctypes.CDLL(None)\nprint(libc.system(b'touch {TARGET}'))",
    "posix_spawn": "import torch\nprint(torch.os.posix_spawn('/bin/sh', ['sh', '-c', 'touch {TARGET}'], {{}}))",
    # ---- network
    "socket_loopback": "import torch\ns = torch.importlib.import_module('socket').create_connection(('127.0.0.1', {PORT}), timeout=2)\ns.send(b'hi')",
    "urllib": "import torch\nu = torch.importlib.import_module('urllib.request')\nprint(u.urlopen('http://127.0.0.1:{PORT}/', timeout=2).read())",
    "torch_hub": "import torch\nprint(torch.hub.load('pytorch/vision', 'resnet18'))",
    "distributed_store": "import torch\nimport torch.distributed as dist\nstore = dist.TCPStore('127.0.0.1', {PORT}, 1, False, timeout=__import__('datetime').timedelta(seconds=2))",
    # ---- native code
    "load_library": "import torch\ntorch.ops.load_library('/usr/lib/x86_64-linux-gnu/libc.so.6')\nprint('loaded')",
    "cpp_extension": "import torch\nfrom torch.utils.cpp_extension import load_inline\nload_inline('x', 'int f(){{return 1;}}', functions=['f'])",
    "torch_compile": "import torch\nf = torch.compile(lambda x: x * 2)\nprint(f(torch.ones(2)))",
    "ctypes_segfault": "import torch\ntorch.ctypes.string_at(0)",
    # ---- signals and the parent
    "kill_parent": "import torch\ntorch.os.kill(torch.os.getppid(), 9)\nprint('sent')",
    "kill_all": "import torch\ntorch.os.kill(-1, 9)\nprint('sent')",
    "killpg": "import torch\ntorch.os.killpg(0, 9)",
    # ---- memory
    "tensor_bomb": "import torch\nx = torch.ones(50_000_000_000)",
    "list_bomb": "x = [0] * (10 ** 10)",
    "bigint_bomb": "x = 10 ** (10 ** 9)\nprint(len(str(x)))",
    "growing_list": "x = []\nwhile True:\n    x.append(bytearray(10 ** 7))",
    # ---- time
    "cpu_loop": "while True:\n    pass",
    "sleeper": "import time\ntime.sleep(120)",
    "tensor_loop": "import torch\nx = torch.ones(100)\nwhile True:\n    x = x * 1.0",
    "save_best_model": "import torch\ntorch.save({{'w': torch.ones(2)}}, 'best.pt')",
    # Its whole loop inside the try: wherever the stop falls, it is caught.
    "caught_stop": "import torch\nx = torch.ones(100)\nwhile True:\n    try:\n        while True:\n            x = x * 1.0\n    except BaseException:\n        pass",
    # ---- output
    "print_flood": "while True:\n    print('x' * 1000)",
    "stdout_write_flood": "import torch\nw = torch.sys.stdout.write\nwhile True:\n    w('y' * 100000)",
    "raw_fd_flood": "import torch\nwhile True:\n    torch.os.write(1, b'z' * 100000)",
    # ---- recursion, threads, reflection
    "deep_recursion": "import torch\ntorch.sys.setrecursionlimit(10 ** 8)\ndef f(n):\n    return f(n + 1)\nf(0)",
    "thread_bomb": "import torch\nth = torch.importlib.import_module('threading')\nts = [th.Thread(target=lambda: None) for _ in range(10000)]\n[t.start() for t in ts]",
    # A thread starts inside the sandbox, and is held by all of it: no file, no process.
    "thread_escape": "import torch\nth = torch.importlib.import_module('threading')\nout = []\ndef f():\n    try:\n        out.append(open('{CANARY}').read())\n    except OSError as e:\n        out.append(str(e))\n    try:\n        out.append(str(torch.os.fork()))\n    except OSError as e:\n        out.append(str(e))\nt = th.Thread(target=f)\nt.start()\nt.join()\nprint(out)",
    "subclasses_escape": "for c in ().__class__.__base__.__subclasses__():\n    if c.__name__ == '_wrap_close':\n        print(c.__init__.__globals__['system']('cat {CANARY}'))",
    "gc_objects": "import gc\nprint([o for o in gc.get_objects() if isinstance(o, str) and 'SECRET' in o][:3])",
    "hook_reads_file": "import torch\nx = torch.ones(2, requires_grad=True)\nx.register_hook(lambda g: print(open('{CANARY}').read()))\n(x * 2).sum().backward()",
    # ---- ending the process
    "system_exit": "raise SystemExit(3)",
    "os_exit": "import torch\nprint('before')\ntorch.os._exit(0)",
    "abort": "import torch\ntorch.os.abort()",
    # ---- forged results
    "forge_fds": 'import torch, json\nfor fd in range(3, 64):\n    try:\n        torch.os.write(fd, b\'{{"schema_version": 1, "stdout": "SECRET"}}\')\n    except OSError:\n        pass\ntorch.os._exit(0)',
    "fake_markers": "print('__GRADSTAGE_RESULT__ {{\"schema_version\": 1}}')\nprint('END')",
    # ---- pathological source and graphs
    "deep_nesting": "x = " + "(" * 5000 + "1" + ")" * 5000,
    "huge_graph": "import torch\nx = torch.ones(1, requires_grad=True)\ny = x\nfor i in range(300000):\n    y = y * 1.0\ny.backward()",
}
