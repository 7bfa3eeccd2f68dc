"""The official papers (issue 11): one Nghị định 30/2020 document builder for every .docx, the
minutes and the proposal of the count, the result chart, and the print layout of spreadsheets.

Pure: plain data in, bytes out. The services call them off the event loop.
"""
