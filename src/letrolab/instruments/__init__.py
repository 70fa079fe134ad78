"""Virtual instruments: everything that writes files the way a lab instrument would.

The model's virtual experiments and the test suite produce plate-reader exports and plate
maps, FCS files with DNA-content events, and Western blot images through this package; the
readers and analyses in :mod:`letrolab.assays` then treat those files exactly as they treat a
lab's own. Nothing here reads or analyses data.
"""
