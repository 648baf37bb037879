"""The `control` child: a UNIX-socket server for this node (`server`), its protocol
(`protocol`), what each command does (`commands`), and the client `marketmanager ctl`
uses (`client`).
"""
