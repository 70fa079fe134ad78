"""letrolab.doseresponse."""
