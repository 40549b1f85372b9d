"""mocap for Blender: an extension (``blender_manifest.toml``, Blender 4.2+) that imports what mocap
writes and drives armatures live from ``mocap live``.

It runs inside Blender's own Python and imports only bpy, mathutils, numpy and the standard
library; nothing is pip-installed into Blender, and nothing heavy runs on Blender's main thread
(2D estimation, triangulation and retargeting happen in the ``mocap live`` process).

Modules: :mod:`.protocol` (the wire protocol, pure: ``mocap.live`` imports it to encode),
:mod:`.receiver` (sockets, pure), :mod:`.readers` / :mod:`.skeleton` / :mod:`.quat` /
:mod:`.tables` (files and math, pure), and the bpy side: :mod:`.rig` (armatures, keys),
:mod:`.importers`, :mod:`.live` (the timer), :mod:`.ui` (operators, panel). Importing this package
imports none of the bpy modules; Blender calls :func:`register`.

Install: ``mocap blender build-addon -o mocap_addon.zip``, then Edit → Preferences → Get
Extensions → Install from Disk (or ``blender --command extension install-file -r user_default -e
mocap_addon.zip``).
"""


def register():
    from . import ui

    ui.register()


def unregister():
    from . import ui

    ui.unregister()
