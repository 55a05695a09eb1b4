import QuillCommands

QuillCommand.main()
