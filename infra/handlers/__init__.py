"""Lambda handlers the templates inline (AWS::Lambda::Function Code.ZipFile)."""
